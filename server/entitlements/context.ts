// Live context decides the entitlements (docs/reference/federation.md). For a token minted from a federated assertion, an
// entitlement with `conditions` is used only when every condition holds in the context; the others are
// withheld. Pure: inputs in, a decision out.

export type Context = Record<string, string>

/** Context values are strings (non-strings JSON-encoded), so a condition's value is compared the same way. */
const asContextValue = (value: unknown): string => typeof value === 'string' ? value : JSON.stringify(value)

/** True when every key of `conditions` is in `ctx` with an equal value (no conditions: always true). */
export function conditionsHold (conditions: Record<string, unknown> | null, ctx: Context): boolean {
  if (conditions === null) return true
  return Object.entries(conditions).every(([key, value]) => Object.hasOwn(ctx, key) && ctx[key] === asContextValue(value))
}

/**
 * The entitlements a request may use. Without a context (a secret or a key was presented) all of them, as
 * before: the resource server enforces their conditions. With one, only those whose conditions it satisfies.
 */
export function entitlementsForContext<E extends { conditions: Record<string, unknown> | null }> (entitlements: E[], ctx: Context | undefined): E[] {
  if (ctx === undefined) return entitlements
  return entitlements.filter((e) => conditionsHold(e.conditions, ctx))
}

/** A federated credential's `match`: all of it must hold in the context. */
export const matchHolds = (match: Record<string, string> | null, ctx: Context): boolean => conditionsHold(match, ctx)
