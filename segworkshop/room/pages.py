"""The room's two pages: the participant's page and the facilitator's board. Plain HTML, CSS and JavaScript,
served by the app itself: no CDN, nothing to install. Every name and text is put on the page with
``textContent`` (never as HTML), and the pages run only the script that carries the response's nonce.
"""

from __future__ import annotations

STYLE = """
body{font:16px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
header{background:#1d2433;color:#fff;padding:10px 16px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header h1{font-size:18px;margin:0;flex:1}
main{max-width:980px;margin:0 auto;padding:12px 16px}
section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:12px 16px;margin:12px 0}
h2{font-size:17px;margin:4px 0 10px}
label{display:block;margin:6px 0 2px;font-size:14px;color:#4a5366}
select,input,textarea,button{font:inherit}
select,input[type=text],textarea{width:100%;box-sizing:border-box;padding:6px;border:1px solid #c5cbd5;border-radius:6px}
textarea{min-height:60px}
button{padding:6px 12px;border-radius:6px;border:1px solid #3b6fb6;background:#3b6fb6;color:#fff;cursor:pointer;margin:6px 6px 0 0}
button.quiet{background:#fff;color:#3b6fb6}
table{border-collapse:collapse;width:100%;font-size:14px}
td,th{border-bottom:1px solid #e6e9ee;padding:4px 6px;text-align:left}
ul{padding-left:18px}
.timer{font-size:28px;font-weight:600;font-variant-numeric:tabular-nums}
.big .timer{font-size:72px}
.muted{color:#6b7384;font-size:14px}
.error{color:#b8443d}
.tag{display:inline-block;background:#eef2f8;border-radius:4px;padding:0 6px;font-size:13px;margin-right:6px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:12px}
.hidden{display:none}
"""

COMMON_JS = r"""
const params = new URLSearchParams(location.search);
if (params.get('t')) { localStorage.setItem(STORE + 'token', params.get('t')); history.replaceState(null, '', location.pathname); }
const token = () => localStorage.getItem(STORE + 'token') || '';
const me = () => ({name: localStorage.getItem(STORE + 'name') || '', key: localStorage.getItem(STORE + 'key') || ''});
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v; else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return node;
}
function fill(id, ...children) { const n = document.getElementById(id); n.replaceChildren(...children); return n; }
async function api(path, body) {
  const who = me();
  const res = await fetch(path, {method: body === undefined ? 'GET' : 'POST',
    headers: {'Content-Type': 'application/json', 'X-Room-Token': token(), 'X-Name': encodeURIComponent(who.name), 'X-Key': who.key},
    body: body === undefined ? undefined : JSON.stringify(body)});
  let data = {};
  try { data = await res.json(); } catch (e) { data = {error: 'the server did not answer'}; }
  if (!res.ok) throw new Error(data.error || ('error ' + res.status));
  return data;
}
let timerLeft = 0, timerRunning = false, timerAt = performance.now();
function showTimer() {
  const left = Math.max(0, timerLeft - (timerRunning ? (performance.now() - timerAt) / 1000 : 0));
  const m = Math.floor(left / 60), s = Math.floor(left % 60);
  for (const n of document.querySelectorAll('.timer')) n.textContent = m + ':' + String(s).padStart(2, '0') + (timerRunning ? '' : ' ⏸');
  for (const n of document.querySelectorAll('.timer-left')) n.textContent = left.toFixed(1);
}
function takeTimer(t) { timerLeft = t.left; timerRunning = t.running; timerAt = performance.now(); showTimer(); }
setInterval(showTimer, 250);
function say(id, text, bad) { const n = fill(id, text || ''); n.className = bad ? 'error' : 'muted'; }
"""

PARTICIPANT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}: the room</title>
<style nonce="{nonce}">{style}</style></head><body>
<header><h1 id="title"></h1><span id="who"></span><span class="timer" id="timer">0:00</span></header>
<main>
<section id="join" class="hidden"><h2>Join the room</h2>
 <label for="name">Your name</label><input type="text" id="name" maxlength="60" autocomplete="name">
 <button id="join-button">Join</button><div id="join-status" class="muted"></div></section>
<div id="room" class="hidden">
<section><h2 id="step"></h2><div class="muted" id="revealed"></div></section>
<section id="hypotheses"><h2>Your top hypotheses</h2>
 <div class="grid"><div><label for="h-segment">Units whose</label><select id="h-segment"></select>
 <label for="h-value">is</label><select id="h-value"></select></div>
 <div><label for="h-direction">succeed</label><select id="h-direction"></select>
 <label for="h-versus">than</label><select id="h-versus"></select></div></div>
 <label for="h-text">Why</label><textarea id="h-text" maxlength="1000"></textarea>
 <button id="h-save">Save hypothesis</button><div id="h-status" class="muted"></div>
 <ul id="h-list"></ul></section>
<section id="verdicts" class="hidden"><h2>Verdicts</h2><table id="v-rows"></table>
 <button id="v-refresh" class="quiet">Refresh verdicts</button><div id="verdict-status" class="muted"></div></section>
<section id="explorer"><h2>Explore</h2>
 <div class="grid"><div><label for="x-what">Split by</label><select id="x-what"></select></div>
 <div><label for="x-within">Only within</label><select id="x-within"></select></div></div>
 <button id="x-run">Compare</button><div id="x-status" class="muted"></div>
 <table id="x-table"></table>
 <div id="x-save" class="hidden"><label for="x-text">What you found</label><textarea id="x-text" maxlength="1000"></textarea>
 <button id="x-keep">Save as a finding</button></div></section>
<section id="findings"><h2>Findings</h2>
 <label for="f-text">A finding, a question or a test to run</label><textarea id="f-text" maxlength="1000"></textarea>
 <label for="f-tag">Kind</label><select id="f-tag"></select>
 <button id="f-save">Save finding</button><div id="f-status" class="muted"></div><ul id="f-list"></ul></section>
<section id="voting"><h2>Experiments and dot voting</h2><div class="muted" id="v-left"></div><table id="v-table"></table>
 <div id="v-status" class="muted"></div>
 <h2>Propose an experiment</h2><label for="c-name">Experiment</label><input type="text" id="c-name" maxlength="200">
 <div class="grid"><div><label for="c-segment">Target</label><select id="c-segment"></select></div>
 <div><label for="c-value">Value</label><select id="c-value"></select></div>
 <div><label for="c-lift">Expected lift (%)</label><input type="text" id="c-lift" value="10"></div></div>
 <button id="c-save" class="quiet">Add candidate</button><div id="c-status" class="muted"></div></section>
</div></main>
<script nonce="{nonce}">const STORE = 'segworkshop-room:';{common}{script}</script></body></html>"""

PARTICIPANT_JS = r"""
let state = null, options = null, lastExploration = null;
document.getElementById('title').textContent = document.title;
async function join() {
  const name = document.getElementById('name').value;
  try {
    const got = await api('/api/join', {name, key: me().key});
    localStorage.setItem(STORE + 'name', got.name); localStorage.setItem(STORE + 'key', got.key);
    start();
  } catch (e) { say('join-status', e.message, true); }
}
document.getElementById('join-button').addEventListener('click', join);
document.getElementById('name').addEventListener('keydown', e => { if (e.key === 'Enter') join(); });
function pickers() {
  const seg = document.getElementById('h-segment'), val = document.getElementById('h-value'), vs = document.getElementById('h-versus');
  seg.replaceChildren(...Object.keys(options.segments).map(s => el('option', {value: s}, s)));
  const values = () => {
    const vals = options.segments[seg.value] || [];
    val.replaceChildren(...vals.map(v => el('option', {value: v}, v)));
    vs.replaceChildren(el('option', {value: ''}, 'the rest'), ...vals.map(v => el('option', {value: v}, v)));
  };
  seg.onchange = values; values();
  const cseg = document.getElementById('c-segment'), cval = document.getElementById('c-value');
  cseg.replaceChildren(el('option', {value: ''}, 'everyone'), ...Object.keys(options.segments).map(s => el('option', {value: s}, s)));
  cseg.onchange = () => cval.replaceChildren(...(options.segments[cseg.value] || []).map(v => el('option', {value: v}, v)));
  cseg.onchange();
  fill('h-direction', ...state.directions.map(d => el('option', {value: d}, d)));
  fill('f-tag', ...state.tags.map(t => el('option', {value: t}, t)));
  fill('x-what', ...options.explore.map((o, i) => el('option', {value: i}, o.label)));
  fill('x-within', el('option', {value: ''}, 'everyone'),
    ...options.within.map((o, i) => el('option', {value: i}, o.segment + ' = ' + o.value)));
}
function entryLine(e, kind, text) {
  const li = el('li', {}, text, ' ', el('span', {class: 'muted'}, '— ' + e.author));
  if (e.mine) li.append(' ', el('button', {class: 'quiet', onclick: async () => {
    try { await api('/api/remove', {kind, id: e.id}); refresh(); } catch (err) { alert(err.message); } }}, 'remove'));
  return li;
}
function hypothesisText(h) {
  return h.segment + ' = ' + h.value + ' succeed ' + h.direction + ' than ' + (h.versus || 'the rest') + (h.text ? ': ' + h.text : '');
}
function render() {
  takeTimer(state.timer);
  fill('step', (state.step + 1) + '. ' + state.steps[state.step]);
  fill('who', state.name ? 'You are ' + state.name : '');
  say('revealed', state.revealed ? 'Everyone\'s entries are shown.' : 'You see your own entries until the facilitator reveals everyone\'s.');
  const mine = state.hypotheses.filter(h => h.mine);
  fill('h-list', ...state.hypotheses.map(h => entryLine(h, 'hypotheses', hypothesisText(h))));
  document.getElementById('h-save').disabled = mine.length >= state.top;
  if (mine.length >= state.top) say('h-status', 'Your top ' + state.top + ' are in. Remove one to add another.');
  fill('f-list', ...state.findings.map(f => entryLine(f, 'findings', '[' + f.tag + '] ' + f.text)));
  const used = Object.values(state.votes.mine).reduce((a, b) => a + b, 0);
  say('v-left', state.candidates.length ? (state.votes.dots - used) + ' of ' + state.votes.dots + ' dots left' : 'No candidates yet.');
  fill('v-table', ...state.candidates.map(c => el('tr', {}, el('td', {}, c), el('td', {}, String(state.votes.mine[c] || 0)),
    el('td', {}, el('button', {class: 'quiet', onclick: () => vote(c, 1)}, '+'), el('button', {class: 'quiet', onclick: () => vote(c, -1)}, '−')))));
}
async function vote(candidate, change) {
  const ballot = Object.assign({}, state.votes.mine);
  ballot[candidate] = Math.max(0, (ballot[candidate] || 0) + change);
  try { await api('/api/votes', {ballot}); say('v-status', 'Saved.'); refresh(); } catch (e) { say('v-status', e.message, true); }
}
document.getElementById('h-save').addEventListener('click', async () => {
  const body = {segment: document.getElementById('h-segment').value, value: document.getElementById('h-value').value,
    direction: document.getElementById('h-direction').value, versus: document.getElementById('h-versus').value || null,
    text: document.getElementById('h-text').value};
  try { await api('/api/hypotheses', body); document.getElementById('h-text').value = ''; say('h-status', 'Saved.'); refresh(); }
  catch (e) { say('h-status', e.message, true); }
});
document.getElementById('f-save').addEventListener('click', async () => {
  try { await api('/api/findings', {text: document.getElementById('f-text').value, tag: document.getElementById('f-tag').value});
    document.getElementById('f-text').value = ''; say('f-status', 'Saved.'); refresh(); }
  catch (e) { say('f-status', e.message, true); }
});
document.getElementById('x-run').addEventListener('click', async () => {
  const what = options.explore[+document.getElementById('x-what').value];
  const w = document.getElementById('x-within').value;
  const spec = {segment: what.spec, within: w === '' ? null : options.within[+w]};
  say('x-status', 'Comparing…');
  try {
    const got = await api('/api/explore', spec);
    lastExploration = got.exploration;
    const head = el('tr', {}, ...['value', 'units', 'success rate', '95% interval', 'lift vs rest', 'q'].map(h => el('th', {}, h)));
    const pct = v => v == null ? '—' : (100 * v).toFixed(1) + '%';
    fill('x-table', head, ...got.rows.map(r => el('tr', {}, el('td', {}, r.value), el('td', {}, r.hidden ? 'hidden' : r.units),
      el('td', {}, pct(r.rate)), el('td', {}, r.rate == null ? '—' : pct(r.ci_low) + ' – ' + pct(r.ci_high)),
      el('td', {}, r.lift == null ? '—' : (r.lift >= 0 ? '+' : '') + (100 * r.lift).toFixed(1) + '%'),
      el('td', {}, r.q_value == null ? '—' : r.q_value.toPrecision(2)))));
    say('x-status', got.note || '');
    document.getElementById('x-save').className = '';
  } catch (e) { say('x-status', e.message, true); }
});
document.getElementById('c-save').addEventListener('click', async () => {
  const seg = document.getElementById('c-segment').value;
  const body = {name: document.getElementById('c-name').value, segment: seg || null,
    value: seg ? document.getElementById('c-value').value : null,
    expected_lift: parseFloat(document.getElementById('c-lift').value) / 100, share: 0.5};
  try { await api('/api/candidates', body); document.getElementById('c-name').value = ''; say('c-status', 'Added.'); refresh(); }
  catch (e) { say('c-status', e.message, true); }
});
document.getElementById('x-keep').addEventListener('click', async () => {
  try { await api('/api/findings', {text: document.getElementById('x-text').value, tag: 'learning',
      about: lastExploration ? lastExploration.label : '', exploration: lastExploration});
    document.getElementById('x-text').value = ''; say('x-status', 'Saved as a finding.'); refresh(); }
  catch (e) { say('x-status', e.message, true); }
});
let verdictsShown = false;
async function verdicts() {
  say('verdict-status', 'Checking the hypotheses…');
  try {
    const got = await api('/api/verdicts');
    fill('v-rows', el('tr', {}, ...['who', 'hypothesis', 'verdict', 'why'].map(h => el('th', {}, h))),
      ...got.rows.map(r => el('tr', {}, el('td', {}, r.author), el('td', {}, hypothesisText(r)),
        el('td', {}, r.verdict || 'hidden'), el('td', {}, r.explanation || ''))));
    say('verdict-status', '');
  } catch (e) { say('verdict-status', e.message, true); }
}
document.getElementById('v-refresh').addEventListener('click', verdicts);
async function refresh() {
  try {
    state = await api('/api/state'); render();
    document.getElementById('verdicts').className = state.revealed ? '' : 'hidden';
    if (state.revealed && !verdictsShown) { verdictsShown = true; verdicts(); }
    if (!state.revealed) verdictsShown = false;
  }
  catch (e) { say('revealed', e.message, true); }
}
async function start() {
  if (!me().name || !me().key) { document.getElementById('join').className = ''; return; }
  try { await api('/api/join', {name: me().name, key: me().key}); }
  catch (e) { localStorage.removeItem(STORE + 'key'); document.getElementById('join').className = ''; say('join-status', e.message, true); return; }
  document.getElementById('join').className = 'hidden'; document.getElementById('room').className = '';
  state = await api('/api/state'); options = await api('/api/options'); pickers(); render();
  setInterval(refresh, 1500);
}
start();
"""

BOARD = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}: the board</title>
<style nonce="{nonce}">{style}</style></head><body class="big">
<header><h1 id="title"></h1><span class="muted" id="count"></span></header>
<main>
<section><div class="grid"><div><h2 id="step"></h2><div class="timer" id="timer">0:00</div>
 <div><button id="prev" class="quiet">◀ step</button><button id="next">step ▶</button></div>
 <div><label for="minutes">Minutes</label><input type="text" id="minutes" value="20">
 <button id="start">Start</button><button id="pause" class="quiet">Pause</button><button id="plus5" class="quiet">+5 min</button></div>
 <div><button id="reveal"></button></div><div id="status" class="muted"></div></div>
 <div><h2>Join</h2><img id="qr" alt="QR code of the join link" width="220" height="220"><div class="muted" id="link"></div></div></div></section>
<section><h2>Hypotheses</h2><table id="hypotheses"></table></section>
<section><h2>Verdicts</h2><button id="check" class="quiet">Check the hypotheses</button><table id="verdicts"></table></section>
<section><h2>Findings</h2><div id="findings" class="grid"></div></section>
<section><h2>Votes</h2><table id="votes"></table></section>
</main>
<script nonce="{nonce}">const STORE = 'segworkshop-board:';{common}{script}</script></body></html>"""

BOARD_JS = r"""
let state = null;
document.getElementById('title').textContent = document.title;
async function control(action, value) {
  try { await api('/api/control', {action, value}); refresh(); } catch (e) { say('status', e.message, true); }
}
document.getElementById('prev').onclick = () => control('step', Math.max(0, state.step - 1));
document.getElementById('next').onclick = () => control('step', Math.min(state.steps.length - 1, state.step + 1));
document.getElementById('start').onclick = () => control('start', parseFloat(document.getElementById('minutes').value));
document.getElementById('pause').onclick = () => control(state.timer.running ? 'pause' : 'resume');
document.getElementById('plus5').onclick = () => control('add', 5);
document.getElementById('reveal').onclick = () => control('reveal', !state.revealed);
function render() {
  takeTimer(state.timer);
  fill('step', (state.step + 1) + '. ' + state.steps[state.step]);
  fill('count', state.participants.length + ' participants with entries');
  fill('reveal', state.revealed ? 'Hide entries' : 'Reveal entries to everyone');
  fill('pause', state.timer.running ? 'Pause' : 'Resume');
  fill('hypotheses', el('tr', {}, ...['who', 'units whose', 'succeed', 'than', 'why'].map(h => el('th', {}, h))),
    ...state.hypotheses.map(h => el('tr', {}, el('td', {}, h.author), el('td', {}, h.segment + ' = ' + h.value),
      el('td', {}, h.direction), el('td', {}, h.versus || 'the rest'), el('td', {}, h.text || ''))));
  const groups = [...new Set(state.findings.map(f => f.group || ('[' + f.tag + ']')))];
  fill('findings', ...groups.map(g => el('div', {}, el('h2', {}, g),
    el('ul', {}, ...state.findings.filter(f => (f.group || ('[' + f.tag + ']')) === g).map(f => el('li', {}, f.text, ' ',
      el('span', {class: 'muted'}, '— ' + f.author), ' ',
      el('button', {class: 'quiet', onclick: () => { const name = prompt('Group this finding under:', f.group || '');
        if (name !== null) control('group', {id: f.id, group: name}); }}, 'group')))))));
  const order = Object.entries(state.votes.tally).sort((a, b) => b[1] - a[1]);
  fill('votes', el('tr', {}, el('th', {}, 'candidate'), el('th', {}, 'dots')),
    ...state.candidates.map(c => el('tr', {}, el('td', {}, c), el('td', {}, String(state.votes.tally[c] || 0)))));
}
document.getElementById('check').onclick = async () => {
  say('status', 'Checking the hypotheses…');
  try {
    const got = await api('/api/verdicts');
    fill('verdicts', el('tr', {}, ...['who', 'hypothesis', 'verdict', 'why'].map(h => el('th', {}, h))),
      ...got.rows.map(r => el('tr', {}, el('td', {}, r.author), el('td', {}, r.segment + ' = ' + r.value),
        el('td', {}, r.verdict || 'hidden'), el('td', {}, r.explanation || ''))));
    say('status', '');
  } catch (e) { say('status', e.message, true); }
};
async function refresh() { try { state = await api('/api/state'); render(); } catch (e) { say('status', e.message, true); } }
(async () => {
  try { const link = await api('/api/link'); fill('link', link.join); document.getElementById('qr').src = link.qr; }
  catch (e) { say('status', e.message, true); }
  await refresh(); setInterval(refresh, 1500);
})();
"""


def participant_page(title: str, nonce: str) -> str:
    import html

    return PARTICIPANT.format(
        title=html.escape(title), nonce=nonce, style=STYLE, common=COMMON_JS, script=PARTICIPANT_JS
    )


def board_page(title: str, nonce: str) -> str:
    import html

    return BOARD.format(title=html.escape(title), nonce=nonce, style=STYLE, common=COMMON_JS, script=BOARD_JS)
