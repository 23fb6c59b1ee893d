/** Agents calling through the proxy until stopped; every answer kept. */
export function agents(dataUrl: () => string, secrets: string[]) {
  const statuses: number[] = [];
  let stop = false;
  const loop = async (secret: string) => {
    while (!stop) {
      try {
        const r = await fetch(dataUrl() + '/v1/customers', { headers: { authorization: `Bearer ${secret}` } });
        await r.arrayBuffer();
        statuses.push(r.status);
      } catch {
        statuses.push(0);
      }
    }
  };
  const running = secrets.map(loop);
  return {
    statuses,
    stop: async () => {
      stop = true;
      await Promise.all(running);
    },
  };
}
