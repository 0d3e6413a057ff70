import { useState } from 'preact/hooks';
import { api } from '../api';
import type { Vim } from '../types';

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** A one-off maintenance window for this VIM, from now for a chosen time; the API's validation and errors as they are. */
export function MaintenanceForm({ vim, onCreated }: { vim: Vim; onCreated: () => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const minutes = Number(data.get('minutes'));
    setBusy(true);
    setError('');
    try {
      await api('POST', '/v1.0/maintenances', {
        maintenance: {
          reason: String(data.get('reason') ?? ''),
          scope: { vim_ids: [vim.id] },
          ...(minutes > 0 && { end: new Date(Date.now() + minutes * 60_000).toISOString() }),
        },
      });
      form.reset();
      onCreated();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="New maintenance window">
      <div class="field grow">
        <label for="maintenance-reason">Reason</label>
        <input id="maintenance-reason" name="reason" required maxLength={1024} />
      </div>
      <div class="field">
        <label for="maintenance-minutes">For</label>
        <select id="maintenance-minutes" name="minutes">
          <option value="30">30 minutes</option>
          <option value="60">1 hour</option>
          <option value="240">4 hours</option>
          <option value="1440">1 day</option>
          <option value="0">until deleted</option>
        </select>
      </div>
      <button type="submit" disabled={busy}>
        Start maintenance now
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

/** Deleting asks once more, in the page (no browser dialog), and shows the API's refusal if there is one. */
export function DeleteVim({ vim, onDeleted }: { vim: Vim; onDeleted: () => void }) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const remove = async () => {
    setBusy(true);
    setError('');
    try {
      await api('DELETE', `/v1.0/vims/${encodeURIComponent(vim.id)}`);
      onDeleted();
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };
  return (
    <div class="danger-zone">
      {!asking ? (
        <button type="button" class="secondary" onClick={() => setAsking(true)}>
          Delete this VIM…
        </button>
      ) : (
        <div role="group" aria-label="Confirm deletion">
          <p>
            Delete <strong>{vim.name}</strong>? Its monitoring stops and its history goes.
          </p>
          <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
            Delete {vim.name}
          </button>{' '}
          <button type="button" class="secondary" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </div>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
