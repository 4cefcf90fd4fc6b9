/**
 * Client set-up: an explicit kubeconfig (tests, running outside the cluster) or the in-cluster
 * ServiceAccount, the only two ways our components are meant to run.
 */
import { ApiException, KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(path: string | undefined): KubeConfig {
  const config = new KubeConfig();
  if (path) config.loadFromFile(path);
  else if (process.env['KUBERNETES_SERVICE_HOST']) config.loadFromCluster();
  else config.loadFromDefault();
  return config;
}

/** The HTTP status of a failed API call, or undefined for network-level failures. */
export function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiException ? (error.code as number) : undefined;
}

/** A short human description of an API failure (the Status message, not the whole response dump). */
export function apiErrorMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as unknown;
    const parsed = typeof body === 'string' ? safeJson(body) : body;
    const message = (parsed as { message?: unknown } | undefined)?.message;
    return `HTTP ${String(error.code)}${typeof message === 'string' ? `: ${message}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
