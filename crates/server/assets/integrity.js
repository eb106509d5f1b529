// The integrity page: the "Run verification" button starts a verification with a same-origin
// POST (the server checks the Origin; the session cookie is SameSite=Strict) and the page
// polls its progress until it is done. Without scripts the form posts and the page reloads.

const form = document.getElementById('verify-form');
const status = document.getElementById('verify-status');
const bar = document.getElementById('verify-progress');
const button = document.getElementById('verify-run');

function show(job) {
  status.textContent = job.summary || status.textContent;
  status.dataset.state = job.state;
  const p = job.progress;
  if (job.state === 'running' && p && p.bytes_total > 0) {
    bar.hidden = false;
    bar.max = p.bytes_total;
    bar.value = p.bytes_done;
    status.textContent = `Running… ${p.segments_done} of ${p.segments_total} segments, ` +
      `${Math.floor((100 * p.bytes_done) / p.bytes_total)}%`;
  } else if (job.state !== 'running') {
    bar.hidden = true;
  }
  button.disabled = job.state === 'running';
}

async function poll() {
  for (;;) {
    const answer = await fetch('/console/verify', { credentials: 'same-origin' });
    if (!answer.ok) {
      status.textContent = `The progress could not be read (the server answered ${answer.status}).`;
      button.disabled = false;
      return;
    }
    const job = await answer.json();
    show(job);
    if (job.state !== 'running') return;
    await new Promise((r) => setTimeout(r, 300));
  }
}

if (form) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    button.disabled = true;
    status.textContent = 'Starting…';
    status.dataset.state = 'starting';
    const answer = await fetch('/console/verify', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    });
    if (answer.status !== 202 && answer.status !== 409) {
      status.textContent = `The verification could not start (the server answered ${answer.status}).`;
      button.disabled = false;
      return;
    }
    await poll();
  });
  poll();
}
