/** Layer-2 Prometheus series, under MetalLB's names (plus our count of dropped frames). */
import type { Registry } from '../../shared/metrics.ts';

export class Layer2Metrics {
  readonly requestsReceived;
  readonly responsesSent;
  readonly gratuitousSent;
  readonly framesDropped;

  constructor(registry: Registry) {
    this.requestsReceived = registry.counter(
      'metallb_layer2_requests_received',
      'Number of layer2 requests received for owned IPs',
    );
    this.responsesSent = registry.counter(
      'metallb_layer2_responses_sent',
      'Number of layer2 responses sent for owned IPs',
    );
    this.gratuitousSent = registry.counter(
      'metallb_layer2_gratuitous_sent',
      'Number of gratuitous layer2 packets sent for owned IPs',
    );
    this.framesDropped = registry.counter(
      'metallb_layer2_frames_dropped_total',
      'Frames that could not be decoded or failed validation, by error code',
    );
  }
}
