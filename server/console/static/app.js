// Tally console (SPEC §10). Plain DOM, no framework, no build. The admin token lives in `token` below and
// nowhere else: not in localStorage, sessionStorage, cookies or the URL, so a reload signs out. Text is
// always set with textContent, never parsed as HTML.
let token = null

const $ = (id) => document.getElementById(id)
const view = $('view')

function el (tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'onclick' || k === 'onsubmit' || k === 'onchange') node.addEventListener(k.slice(2), v)
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)))
  return node
}

function status (message, isError = false) {
  const s = $('status')
  s.textContent = message
  s.className = isError ? 'error' : ''
}

async function api (method, path, body) {
  const res = await fetch('/admin' + path, {
    method,
    headers: { authorization: 'Bearer ' + token, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) })
  })
  const text = await res.text()
  const data = text === '' ? undefined : JSON.parse(text)
  if (!res.ok) throw new Error(`${res.status} ${data?.error ?? ''}${data?.error_description ? ': ' + data.error_description : ''}`)
  return data
}

async function all (path) {
  const items = []
  let cursor = null
  do {
    const sep = path.includes('?') ? '&' : '?'
    const page = await api('GET', cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`)
    items.push(...page.items)
    cursor = page.next_cursor
  } while (cursor !== null && items.length < 5000)
  return items
}

const when = (t) => t === null || t === undefined ? 'never' : new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')

function tableOf (caption, headers, rows) {
  return el('table', {},
    el('caption', { class: 'visually-hidden' }, caption),
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.length === 0 ? el('tr', {}, el('td', { colspan: headers.length }, 'None.')) : rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c))))))
}

function show (name, ...content) {
  for (const b of document.querySelectorAll('nav button[data-view]')) {
    if (b.dataset.view === name) b.setAttribute('aria-current', 'page')
    else b.removeAttribute('aria-current')
  }
  view.replaceChildren(...content)
  view.hidden = false
  const heading = view.querySelector('h2')
  if (heading !== null) { heading.tabIndex = -1; heading.focus() }
}

async function guarded (fn) {
  try { await fn() } catch (err) { status(err.message, true) }
}

// Identities, with a client_id search and kind/status filters.
async function identities (filters = { q: '', kind: '', status: 'active' }) {
  const query = new URLSearchParams({ limit: '200', ...(filters.kind && { kind: filters.kind }), ...(filters.status && { status: filters.status }) })
  const items = (await all('/identities?' + query)).filter((i) => i.client_id.toLowerCase().includes(filters.q.toLowerCase()))
  const kinds = ['', 'service_account', 'workload', 'agent', 'automation', 'resource_server', 'admin']
  const form = el('form', { role: 'search', onsubmit: (e) => { e.preventDefault(); void guarded(() => identities({ q: $('q').value, kind: $('kind').value, status: $('status-filter').value })) } },
    el('label', { for: 'q' }, 'Search client_id', el('input', { id: 'q', type: 'search', value: filters.q })),
    el('label', { for: 'kind' }, 'Kind', el('select', { id: 'kind' }, kinds.map((k) => el('option', { value: k, selected: k === filters.kind }, k === '' ? 'any' : k)))),
    el('label', { for: 'status-filter' }, 'Status', el('select', { id: 'status-filter' }, ['', 'active', 'disabled', 'deleted'].map((s) => el('option', { value: s, selected: s === filters.status }, s === '' ? 'any' : s)))),
    el('button', { type: 'submit' }, 'Filter'))
  show('identities', el('h2', {}, `Identities (${items.length})`), form,
    tableOf('Identities', ['client_id', 'kind', 'status', 'epoch', 'last token', ''], items.map((i) => [
      el('code', {}, i.client_id), i.kind, i.status, String(i.epoch), when(i.last_token_at),
      el('button', { type: 'button', onclick: () => guarded(() => identity(i.id)) }, `Open ${i.client_id}`)])))
  status('')
}

async function identity (id) {
  const [i, sessions, audit] = await Promise.all([api('GET', `/identities/${id}`), api('GET', `/identities/${id}/sessions`), api('GET', `/audit?identity=${id}&limit=50`)])
  show('identities',
    el('h2', {}, 'Identity ', el('code', {}, i.client_id)),
    el('p', {}, `${i.kind} · ${i.status} · epoch ${i.epoch} · last token ${when(i.last_token_at)} · id `, el('code', {}, i.id)),
    el('h3', {}, 'Entitlements'),
    tableOf('Entitlements', ['resource', 'scopes (last used)', 'conditions', 'expires', 'last used'], i.entitlements.map((e) => [
      el('code', {}, e.resource), e.scopes.map((s) => `${s} (${when(e.scopes_last_used_at?.[s])})`).join(', '),
      e.conditions === null ? '-' : JSON.stringify(e.conditions), e.expires_at ?? '-', when(e.last_used_at)])),
    el('h3', {}, 'Credentials'),
    tableOf('Credentials', ['type', 'id', 'prefix / kid', 'expires', 'revoked', 'last used'], i.credentials.map((c) => [
      c.type, el('code', {}, c.id), c.prefix ?? c.kid ?? c.subject ?? '-', c.expires_at ?? '-', c.revoked_at ?? '-', when(c.last_used_at)])),
    el('h3', {}, 'Sessions'),
    tableOf('Sessions', ['state', 'jti', 'resource', 'scope', 'issued', 'expires'], sessions.items.map((s) => {
      const state = s.revoked ? 'revoked' : s.stale ? 'stale' : 'active'
      return [el('span', { class: `state-${state}` }, state), el('code', {}, s.jti), s.resource, s.scope, when(s.iat), when(s.exp)]
    })),
    el('h3', {}, 'Audit'),
    tableOf('Audit entries', ['at', 'action', 'actor'], audit.items.map((a) => [when(a.at), a.action, a.actor ?? '-'])),
    el('p', {}, el('button', { type: 'button', onclick: () => guarded(() => identities()) }, 'Back to identities')))
  status('')
}

// The access review with one-click narrowing; each action reports the identity's new epoch.
async function narrow (finding) {
  const who = finding.identity.id
  let epoch
  if (finding.kind === 'unused_scope') {
    const current = (await api('GET', `/identities/${who}`)).entitlements
    const next = current.map((e) => e.id === finding.entitlement_id ? { ...e, scopes: e.scopes.filter((s) => !finding.scopes.includes(s)) } : e)
      .filter((e) => e.scopes.length > 0)
      .map((e) => ({ resource: e.resource, scopes: e.scopes, ...(e.conditions !== null && { conditions: e.conditions }), ...(e.expires_at !== null && { expires_at: e.expires_at }), ...(e.reason !== null && { reason: e.reason }) }))
    epoch = (await api('PUT', `/identities/${who}/entitlements`, next)).epoch
  } else if (finding.kind === 'unused_entitlement') {
    await api('DELETE', `/identities/${who}/entitlements/${finding.entitlement_id}`)
    epoch = (await api('GET', `/identities/${who}`)).epoch
  } else if (finding.kind === 'unused_credential') {
    await api('DELETE', `/identities/${who}/credentials/${finding.credential_id}`)
    epoch = (await api('GET', `/identities/${who}`)).epoch
  }
  await review($('days')?.value ?? '30')
  status(`Removed from ${finding.identity.client_id}: epoch is now ${epoch}`)
}

const ACTION = { unused_scope: 'Remove scope', unused_entitlement: 'Remove entitlement', unused_credential: 'Revoke credential' }

async function review (days = '30') {
  const items = await all(`/review?days=${encodeURIComponent(days)}&limit=500`)
  const form = el('form', { onsubmit: (e) => { e.preventDefault(); void guarded(() => review($('days').value)) } },
    el('label', { for: 'days' }, 'Unused for the last … days', el('input', { id: 'days', type: 'number', min: '1', max: '400', value: days, required: true })),
    el('button', { type: 'submit' }, 'Review'))
  show('review', el('h2', {}, `Access review (${items.length} findings)`), form,
    tableOf('Findings', ['finding', 'identity', 'what', 'last used', 'granted', 'action'], items.map((f) => {
      const what = f.kind === 'unused_scope' ? `${f.resource} ${f.scopes.join(' ')}` : f.kind === 'unused_entitlement' ? f.resource : f.kind === 'unused_credential' ? `${f.type} ${f.credential_id}` : 'no token in the window'
      const label = ACTION[f.kind]
      return [f.kind, el('code', {}, f.identity.client_id), what, when(f.last_used_at), when(f.since),
        label === undefined ? '-' : el('button', { type: 'button', class: 'danger', 'aria-label': `${label} ${f.kind === 'unused_scope' ? f.scopes.join(' ') + ' ' : ''}from ${f.identity.client_id}`, onclick: () => guarded(() => narrow(f)) }, label)]
    })))
}

async function auditLog () {
  const page = await api('GET', '/audit?limit=200')
  show('audit', el('h2', {}, 'Audit log'),
    tableOf('Audit log', ['id', 'at', 'action', 'identity', 'actor'], page.items.map((a) => [String(a.id), when(a.at), a.action, a.identity ?? '-', a.actor ?? '-'])))
}

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault()
  void guarded(async () => {
    const id = $('client-id').value
    const secret = $('client-secret').value
    const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+')
    const res = await fetch('/token', {
      method: 'POST',
      headers: { authorization: 'Basic ' + btoa(`${enc(id)}:${enc(secret)}`), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&resource=urn%3Atally%3Aadmin'
    })
    const data = await res.json()
    if (!res.ok) throw new Error(`Sign-in failed: ${data.error_description ?? data.error}`)
    token = data.access_token
    $('client-secret').value = ''
    $('signin').hidden = true
    $('nav').hidden = false
    status(`Signed in as ${id}`)
    await identities()
    status(`Signed in as ${id}`)
  })
})
$('sign-out').addEventListener('click', () => { token = null; location.reload() })
for (const b of document.querySelectorAll('nav button[data-view]')) {
  b.addEventListener('click', () => guarded(() => ({ identities, review, audit: auditLog })[b.dataset.view]()))
}
