import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { CLOSE_THREAD, closeThread } from '../src/thread-policy';

/** A stand-in for a worker thread that exits on the close message, or never does. */
function thread(exitsOnClose: boolean) {
  const events = new EventEmitter();
  const t = {
    threadId: 1,
    messages: [] as unknown[],
    terminated: false,
    postMessage(m: unknown) {
      t.messages.push(m);
      if (exitsOnClose && m === CLOSE_THREAD) setImmediate(() => events.emit('exit'));
    },
    once: (e: 'exit', l: () => void) => events.once(e, l),
    terminate: async () => {
      t.terminated = true;
      events.emit('exit');
      return 1;
    },
  };
  return t;
}

describe('closeThread', () => {
  it('asks the thread to close and waits for it to end by itself', async () => {
    const t = thread(true);
    await closeThread(t, 5_000);
    expect(t.messages).toEqual([CLOSE_THREAD]);
    expect(t.terminated).toBe(false);
  });

  it('terminates a thread that does not end within the grace period', async () => {
    const t = thread(false);
    await closeThread(t, 20);
    expect(t.terminated).toBe(true);
  });

  it('does nothing to a thread that has already exited', async () => {
    const t = { ...thread(false), threadId: -1 };
    await closeThread(t, 20);
    expect(t.messages).toEqual([]);
  });
});
