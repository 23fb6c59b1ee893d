import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { TourniquetError } from '../core/errors.js';

export async function run(_input: CommandInput, _ctx: Ctx): Promise<number> {
  throw new TourniquetError('step-failed', 'postmortem is not built yet');
}
