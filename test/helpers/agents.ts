/** Agents calling through the proxy until stopped; every answer kept (and the refusal code of those not 200). */
export function agents(dataUrl: () => string, secrets: string[], path = '/v1/customers') {
  const statuses: number[] = [];
  const failures: string[] = [];
  let stop = false;
  const loop = async (secret: string) => {
    while (!stop) {
      try {
        const r = await fetch(dataUrl() + path, { headers: { authorization: `Bearer ${secret}` } });
        const text = await r.text();
        statuses.push(r.status);
        if (r.status !== 200) failures.push(`${r.status} ${text.slice(0, 200)}`);
      } catch (err) {
        statuses.push(0);
        failures.push(`0 ${(err as Error).message}`);
      }
    }
  };
  const running = secrets.map(loop);
  return {
    statuses,
    failures,
    stop: async () => {
      stop = true;
      await Promise.all(running);
    },
  };
}
