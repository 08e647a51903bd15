// oidc-provider ships no type declarations; the bench uses only its constructor and callback().
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'
  export default class Provider {
    constructor (issuer: string, configuration: Record<string, unknown>)
    proxy: boolean
    callback (): (req: IncomingMessage, res: ServerResponse) => void
  }
  export const errors: { InvalidTarget: new (description?: string) => Error }
}
