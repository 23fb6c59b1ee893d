import type { Ctx } from './context.js';
import type { CommandInput } from './registry.js';
import { catalogFor } from './settings.js';
import { renderTable } from '../render/table.js';

export async function run(_input: CommandInput, ctx: Ctx): Promise<number> {
  const catalog = await catalogFor(ctx);
  const rows = [...catalog.playbooks.values()].map((pb) => ({
    id: pb.id,
    title: pb.title,
    action: pb.action,
    needs: pb.needs,
    steps: pb.steps.map((s) => s.kind),
    without_proxy: pb.without_proxy ?? null,
    file: pb.file,
  }));
  if (ctx.flags.json) {
    ctx.out.json(rows);
    return 0;
  }
  const p = ctx.out.paint;
  ctx.out.data(
    renderTable(rows, [
      { header: 'SCENARIO', value: (r) => p.bold(r.id) },
      { header: 'FIRST MOVE', value: (r) => r.action },
      {
        header: 'WHAT IS HAPPENING',
        value: (r) => r.title,
        max: ctx.io.stdout.isTTY ? Math.max(20, ctx.out.stdoutColumns - 57) : undefined,
      },
    ]),
  );
  return 0;
}
