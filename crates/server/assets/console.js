// Every console page: times in the viewer's own zone (UTC on hover), and the custom time
// range fields shown only when "Custom…" is chosen. Pages work without it (times in UTC).

function localTimes() {
  const fmt = new Intl.DateTimeFormat(undefined, {
    year: 'numeric', month: 'short', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
  });
  for (const el of document.querySelectorAll('time.ts[datetime]')) {
    const utc = el.getAttribute('datetime');
    const d = new Date(utc);
    if (Number.isNaN(d.getTime())) continue;
    el.textContent = fmt.format(d);
    el.title = `UTC: ${utc}`;
    el.dataset.local = 'yes';
  }
}

function customRange() {
  const select = document.getElementById('f-range');
  if (!select) return;
  const show = () => {
    for (const el of document.querySelectorAll('.custom-range')) {
      el.hidden = select.value !== 'custom';
    }
  };
  select.addEventListener('change', show);
  show();
}

// Empty fields are left out of the URL, so a shared link names only the filters in use.
function cleanSubmit() {
  const form = document.querySelector('form.filters');
  if (!form) return;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form)) {
      if (typeof v !== 'string' || v.trim() === '') continue;
      if ((k === 'since' || k === 'until') && form.querySelector('#f-range').value !== 'custom') continue;
      params.append(k, v.trim());
    }
    const q = params.toString();
    // getAttribute: `form.action` is the "action" filter's input, not the form's URL.
    window.location.assign(form.getAttribute('action') + (q ? `?${q}` : ''));
  });
}

localTimes();
customRange();
cleanSubmit();
