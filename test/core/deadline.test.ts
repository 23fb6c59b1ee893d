import { describe, expect, it } from 'vitest';
import { Deadline, currentDeadline, pausedDeadline, sleepWithin, withDeadline } from '../../src/core/deadline.js';
import { pollUntil } from '../helpers/poll.js';

describe("a command's deadline", () => {
  it('expires after its budget, says which limit it was, and ends a sleep early', async () => {
    const d = new Deadline(150, '--deadline');
    expect(d.describe()).toBe("the command's deadline of 150 ms (--deadline)");
    await withDeadline(d, async () => {
      expect(currentDeadline()).toBe(d);
      await sleepWithin(60_000); // ends when the deadline does, not in a minute
    });
    await pollUntil('the deadline to expire', () => d.expired, { timeoutMs: 5000 });
    expect(d.remainingMs()).toBe(0);
  });

  it('does not run while paused (a person at a prompt), and runs again after', async () => {
    const d = new Deadline(100, 'test');
    d.pause();
    await new Promise((r) => setTimeout(r, 300)); // longer than the whole budget: a slow reader
    expect(d.expired).toBe(false);
    expect(d.remainingMs()).toBeGreaterThan(0);
    d.resume();
    await pollUntil('the deadline to expire once resumed', () => d.expired, { timeoutMs: 5000 });
  });

  it('pauses the ambient deadline inside withDeadline', async () => {
    const d = new Deadline(100, 'test');
    await withDeadline(d, () => pausedDeadline(() => new Promise((r) => setTimeout(r, 300))));
    expect(d.expired).toBe(false);
    await pollUntil('the deadline to expire once resumed', () => d.expired, { timeoutMs: 5000 });
  });
});
