import {
  createVendorAdapter,
  readAdminKey,
  vendorConfig,
  vendorFacts,
  isVendorId,
  KEY_VENDOR_IDS,
} from '../../vendors/index.js';
import { usageError } from '../errors.js';
import { parseSecretRef, readSecret } from '../secrets.js';
import type { Step } from '../steps/types.js';
import { revokeSteps, type RevokeParams } from './revoke.js';
import { rotateSteps, type RotateDeps, type RotateParams } from './rotate.js';
import { rollSteps, type RollParams } from './issue.js';
import type { Session } from './session.js';

/**
 * Every acting command's plan is rebuilt from (command, params): the same function serves the
 * first run and `tourniquet resume`, which reads both from the journal's `started` entry.
 */
export interface RotateInput extends RotateParams {
  newKeyFile?: string;
  oldKeyFile?: string;
  /** Rotating at the vendor (no proxy): where to write a key the vendor API created (mode 0600). */
  newKeyOut?: string;
}

export async function vendorFor(session: Session, vendor: string) {
  if (!isVendorId(vendor))
    throw usageError(`unknown vendor "${vendor}"`, `known vendors: ${KEY_VENDOR_IDS.join(', ')}`);
  const i = session.input;
  const config = vendorConfig(vendor, session.settings, i.env);
  const adminKey = await readAdminKey(vendor, config, { env: i.env, stdin: i.stdin });
  if (adminKey) i.register(adminKey);
  const adapter = createVendorAdapter(vendor, {
    config,
    adminKey,
    trace: session.recorder.trace,
    onSecret: i.register,
  });
  let probePath = '/';
  try {
    probePath = vendorFacts(vendor).probePath(config);
  } catch {
    // a missing setting (Twilio's account_sid) surfaces when the probe call is made
  }
  return { adapter, probePath, adminKey, config };
}

export async function rotateDeps(session: Session, p: RotateInput, proxy: RotateDeps['proxy']): Promise<RotateDeps> {
  const { adapter, probePath, adminKey, config } = await vendorFor(session, p.vendor);
  // The admin credential is the old auth token only when it authenticates as the account (no
  // admin_key_sid): an API key's secret is not the auth token, and probing with it proves nothing.
  const adminIsAuthToken = p.authToken === true && !config.adminKeySid;
  if (p.authToken && !p.oldKeyFile && !adminIsAuthToken)
    throw usageError(
      `rotating the ${adapter.displayName} auth token needs the old auth token to watch it die: the admin credential is an API key (admin_key_sid ${config.adminKeySid}), not the auth token`,
      'pass --old-key-file FILE with the current (old) auth token',
    );
  const i = session.input;
  const io = { env: i.env, stdin: i.stdin };
  return {
    proxy,
    vendor: adapter,
    probePath,
    register: i.register,
    trace: session.recorder.trace,
    readNewKey: () =>
      p.newKeyFile
        ? readSecret(parseSecretRef(p.newKeyFile), io, `the new ${adapter.displayName} key`)
        : i.askSecret({
            message: `New ${adapter.displayName} secret key:`,
            flag: '--new-key-file',
            what: `the new ${adapter.displayName} key`,
          }),
    // Rotating Twilio's auth token with the auth token as the admin credential: that is the old key.
    readOldKey: async () =>
      p.oldKeyFile
        ? readSecret(parseSecretRef(p.oldKeyFile), io, `the old ${adapter.displayName} key`)
        : adminIsAuthToken
          ? adminKey
          : undefined,
  };
}

export async function rotatePlan(session: Session, p: RotateInput): Promise<Step[]> {
  return rotateSteps(p, await rotateDeps(session, p, await session.proxy()));
}

export async function planFor(session: Session, command: string, params: Record<string, unknown>): Promise<Step[]> {
  switch (command) {
    case 'revoke':
      return revokeSteps(params as unknown as RevokeParams, { proxy: await session.proxy() });
    case 'rotate':
      return rotatePlan(session, params as unknown as RotateInput);
    case 'roll':
      return rollSteps(params as unknown as RollParams, { proxy: await session.proxy() });
    default: {
      const { runPlanSteps } = await import('./run-plan.js');
      if (command === 'run') return runPlanSteps(session, params);
      throw usageError(`incidents started by "${command}" cannot be resumed`);
    }
  }
}
