/**
 * The node proxy's I/O shell: hands the rulesets of ruleset.ts to `nft -f -`, one run at a time.
 * Callers state the whole desired set of targets as often as they like; only the latest state is
 * applied, and only when its text differs from what the kernel already holds.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../../shared/log.ts';
import { MetallbError } from '../../shared/errors.ts';
import type { ProxyPort } from './port.ts';
import { proxyRuleset, removalRuleset, type ProxyTarget } from './ruleset.ts';

/** Applies one `nft -f` text as a single transaction; rejects with NFT_NOT_FOUND or NFT_FAILED. */
export type NftRunner = (ruleset: string) => Promise<void>;

/**
 * Runs `command` with `-f -` and the ruleset on stdin (no temporary file to leave behind). `command`
 * is an argv prefix, so the same runner drives nft inside a network namespace: `ip netns exec NS nft`.
 */
export function nftRunner(command: readonly string[] = ['nft']): NftRunner {
  const [program = 'nft', ...args] = command;
  const shown = [...command, '-f', '-'].join(' ');
  return (ruleset) =>
    new Promise((resolve, reject) => {
      const child = spawn(program, [...args, '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'ENOENT'
            ? new MetallbError(
                'NFT_NOT_FOUND',
                `the nft binary was not found (cannot run ${program}): install the Debian package nftables`,
              )
            : new MetallbError('NFT_FAILED', `cannot run ${shown}: ${error.message}`),
        ),
      );
      child.on('close', (code, signal) => {
        if (code === 0) return resolve();
        const status = signal ? `killed by ${signal}` : `exit code ${code}`;
        reject(new MetallbError('NFT_FAILED', `${shown} failed (${status}): ${stderr.trim()}`));
      });
      // nft may exit before reading everything (e.g. when it cannot run at all): its exit status and
      // stderr say why, the broken pipe would only hide it.
      child.stdin.on('error', () => {});
      child.stdin.end(ruleset);
    });
}

export interface NftProxyOptions {
  readonly log: Logger;
  /** How rulesets reach the kernel; default: `nft -f -` on this node. */
  readonly run?: NftRunner;
}

export class NftProxy implements ProxyPort {
  /**
   * Replaces our table with an empty one, so whatever a crashed predecessor left forwards nothing,
   * and proves nft is usable before the speaker relies on it: rejects with NFT_NOT_FOUND without the
   * binary, NFT_FAILED (nft's own words included) when the kernel refuses, typically for want of
   * NET_ADMIN.
   */
  static async start(options: NftProxyOptions): Promise<NftProxy> {
    const run = options.run ?? nftRunner();
    const empty = proxyRuleset([]);
    try {
      await run(empty);
    } catch (error) {
      if (error instanceof MetallbError && error.code === 'NFT_FAILED') {
        const hint = 'the speaker needs the NET_ADMIN capability when the node proxy is enabled';
        throw new MetallbError('NFT_FAILED', `cannot set up the node proxy (${hint}): ${error.message}`);
      }
      throw error;
    }
    return new NftProxy(run, options.log, empty);
  }

  private readonly run: NftRunner;
  private readonly log: Logger;
  /** The text the kernel holds: the last one nft accepted. */
  private applied: string;
  private desired: Desired;
  private applying: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private failure: Error | undefined;

  private constructor(run: NftRunner, log: Logger, applied: string) {
    this.run = run;
    this.log = log;
    this.applied = applied;
    this.desired = { text: applied, event: APPLIED, fields: { targets: 0 } };
  }

  /** Why the kernel does not hold the latest desired state: the latest failed apply; undefined when it does. */
  get lastError(): Error | undefined {
    return this.desired.text === this.applied ? undefined : this.failure;
  }

  /**
   * Throws PROXY_INVALID at once for a bad target (the caller's bug; nothing changes). A failed apply
   * is retried on the next call that still differs from the kernel's state, so a transient failure
   * heals with the next reconcile.
   */
  setTargets(targets: readonly ProxyTarget[]): void {
    // Late updates during shutdown must not bring back the table stop() removes.
    if (this.stopping) return;
    this.want({ text: proxyRuleset(targets), event: APPLIED, fields: { targets: targets.length } });
  }

  /** Resolves once no apply is running: the kernel holds the latest state, or lastError says why not. */
  async settled(): Promise<void> {
    while (this.applying) await this.applying;
  }

  /** Never rejects: a failure is logged and kept in lastError, and the next start replaces the table anyway. */
  stop(): Promise<void> {
    this.stopping ??= this.remove();
    return this.stopping;
  }

  private async remove(): Promise<void> {
    this.want({ text: removalRuleset(), event: 'node proxy rules removed', fields: {} });
    await this.settled();
  }

  private want(desired: Desired): void {
    this.desired = desired;
    if (this.applying === undefined && desired.text !== this.applied) this.applying = this.applyLatest();
  }

  /**
   * Applies until the kernel holds the latest desired text; never two nft runs at once. A text that
   * just failed is not retried in a loop, but a newer one that arrived meanwhile is tried. Only called
   * when the desired text differs from the applied one, so the first run always awaits and clearing
   * `applying` at the end cannot precede its assignment.
   */
  private async applyLatest(): Promise<void> {
    let failed: string | undefined;
    while (this.desired.text !== this.applied && this.desired.text !== failed) {
      const { text, event, fields } = this.desired;
      try {
        await this.run(text);
        this.applied = text;
        this.log.info(event, fields);
      } catch (error) {
        failed = text;
        this.failure = asError(error);
        this.log.error('cannot apply node proxy rules, keeping the previous ones', { error });
      }
    }
    this.applying = undefined;
  }
}

const APPLIED = 'node proxy rules applied';

/** A ruleset to apply, and what to log once the kernel holds it. */
interface Desired {
  readonly text: string;
  readonly event: string;
  readonly fields: Record<string, unknown>;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
