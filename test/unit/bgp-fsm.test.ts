/**
 * The BGP FSM (speaker/bgp/fsm.ts) driven with plain message objects and fake time: a small driver
 * carries out the timer actions the way session.ts does, so time moves only when a test says so.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BgpFsm,
  DEFAULT_TIMINGS,
  nominalRetryDelayMs,
  type BgpFsmOptions,
  type BgpState,
  type DownReason,
  type FsmAction,
  type FsmEvent,
  type Negotiated,
  type TimerName,
} from '../../speaker/bgp/fsm.ts';
import type { Capability } from '../../speaker/bgp/wire/capabilities.ts';
import { BgpWireError, ERROR_CODE, UPDATE_SUBCODE } from '../../speaker/bgp/wire/errors.ts';
import type { Notification } from '../../speaker/bgp/wire/notification.ts';
import { AS_TRANS, type Open } from '../../speaker/bgp/wire/open.ts';
import { parseIp } from '../../shared/ip/address.ts';

const MY_ASN = 64512;
const PEER_ASN = 64500;
const ROUTER_ID = parseIp('10.0.0.1');
const PEER_ID = parseIp('10.0.0.254');

type Sent = Extract<FsmAction, { type: 'send' }>['message'];

/** Runs the FSM as session.ts would, with a fake clock and fake timers. */
class Driver {
  readonly fsm: BgpFsm;
  now = 0;
  readonly timers = new Map<TimerName, number>();
  readonly sent: Sent[] = [];
  readonly actions: FsmAction[] = [];
  connects = 0;
  closes = 0;

  constructor(options: Partial<BgpFsmOptions> = {}) {
    this.fsm = new BgpFsm({
      myAsn: MY_ASN,
      peerAsn: PEER_ASN,
      routerId: ROUTER_ID,
      random: () => 0,
      now: () => this.now,
      ...options,
    });
  }

  get state(): BgpState {
    return this.fsm.state;
  }

  feed(event: FsmEvent): FsmAction[] {
    const actions = this.fsm.handle(event);
    this.actions.push(...actions);
    for (const action of actions) {
      switch (action.type) {
        case 'startTimer':
          this.timers.set(action.timer, this.now + action.ms);
          break;
        case 'stopTimer':
          this.timers.delete(action.timer);
          break;
        case 'send':
          this.sent.push(action.message);
          break;
        case 'connect':
          this.connects++;
          break;
        case 'close':
          this.closes++;
          break;
      }
    }
    return actions;
  }

  /** Moves the clock forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let next: [TimerName, number] | undefined;
      for (const entry of this.timers) if (entry[1] <= end && (!next || entry[1] < next[1])) next = entry;
      if (!next) break;
      this.now = next[1];
      this.timers.delete(next[0]);
      this.feed({ type: 'timerExpired', timer: next[0] });
    }
    this.now = end;
  }

  receive(message: Extract<FsmEvent, { type: 'messageReceived' }>['message']): FsmAction[] {
    return this.feed({ type: 'messageReceived', message });
  }

  /** start → connected → OPEN from the peer → its KEEPALIVE: Established. */
  establish(open: Open = peerOpen()): Negotiated {
    if (this.state === 'Idle') this.feed({ type: 'start' });
    assert.equal(this.state, 'Connect');
    this.feed({ type: 'tcpConnected' });
    this.receive(open);
    assert.equal(this.state, 'OpenConfirm');
    const actions = this.receive({ type: 'keepalive' });
    assert.equal(this.state, 'Established');
    const established = actions.find((a) => a.type === 'established');
    assert.ok(established);
    return established.negotiated;
  }

  lastNotification(): Notification {
    const last = this.sent.at(-1);
    assert.ok(last && last.type === 'notification', `expected a NOTIFICATION last, sent ${last?.type}`);
    return last;
  }

  lastDown(): DownReason {
    const down = this.actions.findLast((a) => a.type === 'down');
    assert.ok(down);
    return down.reason;
  }

  types(actions: readonly FsmAction[]): string[] {
    return actions.map((a) => (a.type === 'send' ? `send:${a.message.type}` : a.type));
  }
}

function peerOpen(overrides: Partial<Open> = {}, capabilities?: Capability[]): Open {
  return {
    type: 'open',
    version: 4,
    myAs: PEER_ASN,
    holdTime: 90,
    bgpIdentifier: PEER_ID,
    capabilities: capabilities ?? [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'routeRefresh' },
      { kind: 'fourOctetAs', asn: PEER_ASN },
    ],
    ...overrides,
  };
}

function codes(notification: Notification): string {
  return `${notification.errorCode}/${notification.errorSubcode}`;
}

describe('BGP FSM: connecting', () => {
  it('start connects at once; Idle ignores everything but start', () => {
    const d = new Driver();
    assert.deepEqual(d.types(d.feed({ type: 'tcpConnected' })), []);
    assert.deepEqual(d.types(d.feed({ type: 'timerExpired', timer: 'hold' })), []);
    assert.deepEqual(d.types(d.feed({ type: 'start' })), ['stateChanged', 'connect']);
    assert.equal(d.state, 'Connect');
    assert.deepEqual(d.types(d.feed({ type: 'start' })), [], 'a second start changes nothing');
  });

  it('failed connects back off exponentially with jitter, capped at 30 s', () => {
    const d = new Driver({ random: () => 0 }); // jitter factor 0.75
    d.feed({ type: 'start' });
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      d.feed({ type: 'tcpFailed', error: 'ECONNREFUSED' });
      assert.equal(d.state, 'Active');
      const delay = d.lastDown().retryInMs;
      assert.ok(delay !== undefined);
      delays.push(delay);
      assert.equal(d.timers.get('connectRetry'), d.now + delay);
      d.advance(delay - 1);
      assert.equal(d.state, 'Active', 'no attempt before the delay');
      d.advance(1);
      assert.equal(d.state, 'Connect');
    }
    assert.deepEqual(delays, [375, 750, 1500, 3000, 6000, 12000, 22500, 22500, 22500]);
    assert.equal(d.connects, 10);
    assert.equal(d.lastDown().kind, 'connectFailed');
    assert.equal(d.lastDown().wasEstablished, false);
  });

  it('jitter scales the delay between 0.75 and 1 of the nominal value', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => nominalRetryDelayMs(n)),
      [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000],
    );
    const high = new Driver({ random: () => 0.999999 });
    high.feed({ type: 'start' });
    high.feed({ type: 'tcpFailed', error: 'ETIMEDOUT' });
    assert.equal(high.lastDown().retryInMs, 500);
    const middle = new Driver({ random: () => 0.5 });
    middle.feed({ type: 'start' });
    middle.feed({ type: 'tcpFailed', error: 'ETIMEDOUT' });
    assert.equal(middle.lastDown().retryInMs, Math.round(500 * 0.875));
  });

  it('a session torn down soon after Established keeps backing off; a stable one resets the backoff', () => {
    const d = new Driver();
    d.feed({ type: 'start' });
    d.feed({ type: 'tcpFailed', error: 'ECONNREFUSED' }); // failure 1: 375
    d.advance(375);
    d.feed({ type: 'tcpFailed', error: 'ECONNREFUSED' }); // failure 2: 750
    d.advance(750);
    d.establish();
    d.advance(DEFAULT_TIMINGS.stableAfterMs - 1000);
    d.feed({ type: 'tcpClosed' }); // failure 3: up for less than stableAfterMs
    assert.equal(d.lastDown().retryInMs, 1500);
    assert.equal(d.lastDown().wasEstablished, true);
    d.advance(1500);
    d.establish();
    d.advance(DEFAULT_TIMINGS.stableAfterMs);
    d.feed({ type: 'tcpClosed' });
    assert.equal(d.lastDown().retryInMs, 375, 'back to the first step');
    assert.equal(d.fsm.consecutiveFailures, 1);
  });

  it('a connection closed while connecting counts as a failed connect', () => {
    const d = new Driver();
    d.feed({ type: 'start' });
    d.feed({ type: 'tcpClosed', error: 'ECONNRESET' });
    assert.equal(d.state, 'Active');
    assert.equal(d.lastDown().kind, 'connectFailed');
  });
});

describe('BGP FSM: OPEN exchange', () => {
  it('sends our OPEN on connect, answers a good OPEN with KEEPALIVE, and is Established on theirs', () => {
    const d = new Driver({ holdTimeSeconds: 90 });
    d.feed({ type: 'start' });
    d.feed({ type: 'tcpConnected' });
    assert.equal(d.state, 'OpenSent');
    const open = d.sent[0];
    assert.ok(open?.type === 'open');
    assert.equal(open.version, 4);
    assert.equal(open.myAs, MY_ASN);
    assert.equal(open.holdTime, 90);
    assert.deepEqual(open.bgpIdentifier, ROUTER_ID);
    assert.deepEqual(open.capabilities, [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'routeRefresh' },
      { kind: 'fourOctetAs', asn: MY_ASN },
      {
        kind: 'gracefulRestart',
        restarting: false,
        notification: false,
        restartTime: 120,
        families: [
          { afi: 1, safi: 1, forwardingPreserved: true },
          { afi: 2, safi: 1, forwardingPreserved: true },
        ],
      },
    ]);
    assert.equal(d.timers.get('hold'), DEFAULT_TIMINGS.openHoldMs, 'waiting for the OPEN is bounded');

    assert.deepEqual(d.types(d.receive(peerOpen())), [
      'send:keepalive',
      'startTimer',
      'startTimer',
      'stateChanged',
    ]);
    assert.equal(d.state, 'OpenConfirm');
    const actions = d.receive({ type: 'keepalive' });
    assert.deepEqual(d.types(actions), ['startTimer', 'stateChanged', 'established']);
    const established = actions.find((a) => a.type === 'established');
    assert.deepEqual(established?.type === 'established' && established.negotiated, {
      fourOctetAs: true,
      families: [4, 6],
      holdTimeSeconds: 90,
      keepaliveSeconds: 30,
      peerRouterId: '10.0.0.254',
      peerAsn: PEER_ASN,
      routeRefresh: true,
      gracefulRestart: undefined,
    });
    assert.deepEqual(d.fsm.negotiated, established?.type === 'established' && established.negotiated);
  });

  it('without a configured router id, the BGP Identifier is the local IPv4 address of the connection', () => {
    const d = new Driver({ routerId: undefined });
    d.feed({ type: 'start' });
    d.feed({ type: 'tcpConnected', localAddress: parseIp('192.0.2.7') });
    const open = d.sent[0];
    assert.ok(open?.type === 'open');
    assert.deepEqual(open.bgpIdentifier, parseIp('192.0.2.7'));

    const v6 = new Driver({ routerId: undefined });
    v6.feed({ type: 'start' });
    v6.feed({ type: 'tcpConnected', localAddress: parseIp('fd00::7') });
    assert.equal(v6.sent.length, 0, 'no OPEN without an identifier');
    assert.equal(v6.state, 'Active');
    assert.match(v6.lastDown().message, /router-id/);
  });

  it('a 4-byte own AS goes as AS_TRANS in the 2-octet field and whole in the capability', () => {
    const d = new Driver({ myAsn: 4_200_000_001 });
    const open = d.fsm.openMessage();
    assert.equal(open.myAs, AS_TRANS);
    assert.ok(open.capabilities.some((c) => c.kind === 'fourOctetAs' && c.asn === 4_200_000_001));
  });

  it('the peer AS comes from the 4-octet capability when present, else from the 2-octet field', () => {
    const fourByte = new Driver({ peerAsn: 4_200_000_002 });
    const negotiated = fourByte.establish(
      peerOpen({ myAs: AS_TRANS }, [{ kind: 'fourOctetAs', asn: 4_200_000_002 }]),
    );
    assert.equal(negotiated.peerAsn, 4_200_000_002);
    assert.equal(negotiated.fourOctetAs, true);

    const old = new Driver();
    const oldNegotiated = old.establish(peerOpen({}, []));
    assert.equal(oldNegotiated.fourOctetAs, false, 'no capability: 2-octet AS_PATH');
    assert.deepEqual(oldNegotiated.families, [4], 'no MP capability: IPv4 unicast only (RFC 4760)');
    assert.equal(oldNegotiated.routeRefresh, false);
  });

  it('a wrong peer AS is refused with Bad Peer AS (2/2), then close and back off', () => {
    for (const open of [
      peerOpen({ myAs: 64501 }, [{ kind: 'multiprotocol', afi: 1, safi: 1 }]),
      peerOpen({}, [{ kind: 'fourOctetAs', asn: 64501 }]),
      // A 4-byte peer AS cannot be told apart from AS_TRANS without the capability.
      peerOpen({ myAs: AS_TRANS }, []),
    ]) {
      const d = new Driver({ peerAsn: open.myAs === AS_TRANS ? 4_200_000_002 : PEER_ASN });
      d.feed({ type: 'start' });
      d.feed({ type: 'tcpConnected' });
      const actions = d.receive(open);
      assert.deepEqual(d.types(actions).slice(0, 2), ['send:notification', 'close']);
      assert.equal(codes(d.lastNotification()), '2/2');
      assert.equal(d.state, 'Active');
      assert.equal(d.lastDown().kind, 'notificationSent');
      assert.ok(d.timers.has('connectRetry'));
      assert.ok(!d.timers.has('hold'));
    }
  });

  it('refuses our own BGP identifier on iBGP (2/3) but accepts it on eBGP (RFC 6286)', () => {
    const ibgp = new Driver({ peerAsn: MY_ASN });
    ibgp.feed({ type: 'start' });
    ibgp.feed({ type: 'tcpConnected' });
    ibgp.receive(peerOpen({ myAs: MY_ASN, bgpIdentifier: ROUTER_ID }, []));
    assert.equal(codes(ibgp.lastNotification()), '2/3');

    const zero = new Driver();
    zero.feed({ type: 'start' });
    zero.feed({ type: 'tcpConnected' });
    zero.receive(peerOpen({ bgpIdentifier: { family: 4, value: 0n } }));
    assert.equal(codes(zero.lastNotification()), '2/3');

    const ebgp = new Driver();
    ebgp.establish(peerOpen({ bgpIdentifier: ROUTER_ID }));
  });

  it('refuses another BGP version with 2/1 and the version we speak as data', () => {
    const d = new Driver();
    d.feed({ type: 'start' });
    d.feed({ type: 'tcpConnected' });
    d.receive(peerOpen({ version: 3 }));
    assert.equal(codes(d.lastNotification()), '2/1');
    assert.deepEqual(d.lastNotification().data, Buffer.from([0, 4]));
  });

  it('refuses a peer with no address family in common (2/7)', () => {
    const d = new Driver({ families: [6] });
    d.feed({ type: 'start' });
    d.feed({ type: 'tcpConnected' });
    d.receive(peerOpen({}, [{ kind: 'multiprotocol', afi: 1, safi: 1 }]));
    assert.equal(codes(d.lastNotification()), '2/7');
  });

  it('negotiates only the families both sides advertise, and keeps the peer graceful restart capability', () => {
    const d = new Driver();
    const negotiated = d.establish(
      peerOpen({}, [
        { kind: 'multiprotocol', afi: 2, safi: 1 },
        { kind: 'multiprotocol', afi: 1, safi: 128 },
        {
          kind: 'gracefulRestart',
          restarting: true,
          notification: false,
          restartTime: 300,
          families: [{ afi: 2, safi: 1, forwardingPreserved: false }],
        },
      ]),
    );
    assert.deepEqual(negotiated.families, [6]);
    assert.deepEqual(negotiated.gracefulRestart, {
      restartTimeSeconds: 300,
      restarting: true,
      families: [{ family: 6, forwardingPreserved: false }],
    });
  });

  it('sets the graceful restart R bit only until the first Established', () => {
    const d = new Driver({ gracefulRestart: { restarting: true, restartTimeSeconds: 90 } });
    /** The R bit of each OPEN sent so far. */
    const restartBits = (): boolean[] =>
      d.sent.flatMap((m) =>
        m.type === 'open'
          ? m.capabilities.flatMap((c) => (c.kind === 'gracefulRestart' ? [c.restarting] : []))
          : [],
      );
    d.feed({ type: 'start' });
    d.feed({ type: 'tcpConnected' });
    d.feed({ type: 'tcpClosed' }); // an attempt that fails before Established
    assert.deepEqual(
      d.sent[0]?.type === 'open' && d.sent[0].capabilities.find((c) => c.kind === 'gracefulRestart'),
      {
        kind: 'gracefulRestart',
        restarting: true,
        notification: false,
        restartTime: 90,
        families: [
          { afi: 1, safi: 1, forwardingPreserved: true },
          { afi: 2, safi: 1, forwardingPreserved: true },
        ],
      },
    );
    d.advance(1000);
    d.establish();
    d.feed({ type: 'tcpClosed' });
    d.advance(1000);
    d.establish();
    assert.deepEqual(restartBits(), [true, true, false], 'a reconnect after Established is not a restart');

    const disabled = new Driver({ gracefulRestart: { enabled: false } });
    assert.ok(!disabled.fsm.openMessage().capabilities.some((c) => c.kind === 'gracefulRestart'));
  });

  it('gives up on a peer that sends no OPEN: Hold Timer Expired (4/0)', () => {
    const d = new Driver();
    d.feed({ type: 'start' });
    d.feed({ type: 'tcpConnected' });
    d.advance(DEFAULT_TIMINGS.openHoldMs - 1);
    assert.equal(d.state, 'OpenSent');
    d.advance(1);
    assert.equal(codes(d.lastNotification()), '4/0');
    assert.equal(d.state, 'Active');
  });

  it('a connection collision cannot happen: we never accept, so a second OPEN is an FSM error', () => {
    // The only connection is the one we opened (no 'accept' event exists). A router resolving a
    // collision on its side closes one of its own; what we could see is an OPEN on this connection
    // after OpenSent, which RFC 6608 calls an unexpected message.
    const d = new Driver();
    d.feed({ type: 'start' });
    d.feed({ type: 'tcpConnected' });
    d.receive(peerOpen());
    d.receive(peerOpen());
    assert.equal(codes(d.lastNotification()), '5/2');
    assert.ok(!d.actions.some((a) => (a.type as string) === 'accept'));
  });

  it('unexpected messages are FSM errors naming the state (RFC 6608)', () => {
    const openSent = new Driver();
    openSent.feed({ type: 'start' });
    openSent.feed({ type: 'tcpConnected' });
    openSent.receive({ type: 'keepalive' });
    assert.equal(codes(openSent.lastNotification()), '5/1');

    const openConfirm = new Driver();
    openConfirm.feed({ type: 'start' });
    openConfirm.feed({ type: 'tcpConnected' });
    openConfirm.receive(peerOpen());
    openConfirm.receive({ type: 'update' });
    assert.equal(codes(openConfirm.lastNotification()), '5/2');

    const established = new Driver();
    established.establish();
    established.receive(peerOpen());
    assert.equal(codes(established.lastNotification()), '5/3');
    assert.equal(established.lastDown().wasEstablished, true);
  });
});

describe('BGP FSM: hold time and keepalives', () => {
  const cases: { ours: number; theirs: number; keepaliveTime?: number; hold: number; keepalive: number }[] = [
    { ours: 90, theirs: 90, hold: 90, keepalive: 30 },
    { ours: 90, theirs: 3, hold: 3, keepalive: 1 },
    { ours: 10, theirs: 180, hold: 10, keepalive: 3 },
    { ours: 90, theirs: 0, hold: 0, keepalive: 0 },
    { ours: 0, theirs: 90, hold: 0, keepalive: 0 },
    { ours: 4, theirs: 5, hold: 4, keepalive: 1 },
    { ours: 90, theirs: 90, keepaliveTime: 10, hold: 90, keepalive: 10 },
    // A configured keepalive-time never exceeds a third of a smaller negotiated hold time.
    { ours: 90, theirs: 9, keepaliveTime: 30, hold: 9, keepalive: 3 },
  ];
  for (const { ours, theirs, keepaliveTime, hold, keepalive } of cases) {
    it(`ours ${ours} s, theirs ${theirs} s${keepaliveTime ? `, keepalive-time ${keepaliveTime} s` : ''}: hold ${hold} s, keepalive ${keepalive} s`, () => {
      const d = new Driver({
        holdTimeSeconds: ours,
        ...(keepaliveTime ? { keepaliveTimeSeconds: keepaliveTime } : {}),
      });
      const negotiated = d.establish(peerOpen({ holdTime: theirs }));
      assert.equal(negotiated.holdTimeSeconds, hold);
      assert.equal(negotiated.keepaliveSeconds, keepalive);
      if (hold === 0) {
        assert.ok(!d.timers.has('hold') && !d.timers.has('keepalive'), 'no timers at all for hold time 0');
        d.advance(3_600_000);
        assert.equal(d.state, 'Established', 'an hour of silence is fine');
        assert.equal(d.sent.filter((m) => m.type === 'keepalive').length, 1, 'only the OPEN answer');
      } else {
        assert.equal(d.timers.get('hold'), d.now + hold * 1000);
        assert.equal(d.timers.get('keepalive'), d.now + keepalive * 750, 'jittered by 0.75');
      }
    });
  }

  for (const theirs of [1, 2]) {
    it(`refuses a peer hold time of ${theirs} s with Unacceptable Hold Time (2/6)`, () => {
      const d = new Driver();
      d.feed({ type: 'start' });
      d.feed({ type: 'tcpConnected' });
      d.receive(peerOpen({ holdTime: theirs }));
      assert.equal(codes(d.lastNotification()), '2/6');
      assert.equal(d.state, 'Active');
    });
  }

  it('refuses to be configured with a hold time of 1-2 s', () => {
    for (const holdTimeSeconds of [1, 2, 65536, 1.5]) {
      assert.throws(() => new Driver({ holdTimeSeconds }), RangeError);
    }
  });

  it('sends KEEPALIVEs every keepalive interval (jittered), from OpenConfirm on', () => {
    const d = new Driver({ holdTimeSeconds: 3, random: () => 0.5 }); // factor 0.875
    d.feed({ type: 'start' });
    d.feed({ type: 'tcpConnected' });
    d.receive(peerOpen({ holdTime: 3 }));
    const keepalivesAt: number[] = [];
    const count = (): number => d.sent.filter((m) => m.type === 'keepalive').length;
    let seen = count();
    d.receive({ type: 'keepalive' });
    for (let t = 0; t < 4000; t += 5) {
      d.receive({ type: 'keepalive' }); // the peer is alive: our hold timer never fires
      d.advance(5);
      if (count() > seen) {
        keepalivesAt.push(d.now);
        seen = count();
      }
    }
    assert.deepEqual(keepalivesAt, [875, 1750, 2625, 3500]);
    assert.equal(d.state, 'Established');
  });

  it('hold timer expiry sends Hold Timer Expired (4/0) and closes; any message restarts it', () => {
    const d = new Driver({ holdTimeSeconds: 3 });
    d.establish(peerOpen({ holdTime: 3 }));
    d.advance(2900);
    d.receive({ type: 'update' });
    d.advance(2900);
    d.receive({ type: 'routeRefresh', afi: 1, safi: 1, subtype: 0 });
    d.advance(2999);
    assert.equal(d.state, 'Established');
    const before = d.actions.length;
    d.advance(1);
    assert.deepEqual(d.types(d.actions.slice(before)).slice(0, 2), ['send:notification', 'close']);
    assert.equal(codes(d.lastNotification()), '4/0');
    assert.equal(d.state, 'Active');
    assert.ok(!d.timers.has('keepalive'), 'keepalives stop with the session');
    const down = d.lastDown();
    assert.equal(down.kind, 'notificationSent');
    assert.equal(down.wasEstablished, true);
    assert.match(down.message, /hold timer expired/);
  });
});

describe('BGP FSM: stopping, errors and route refresh', () => {
  it('stop in Established sends Cease Administrative Shutdown (6/2) with a message, closes, goes Idle', () => {
    const d = new Driver();
    d.establish();
    const actions = d.feed({ type: 'stop', reason: 'shutdown' });
    assert.deepEqual(d.types(actions).slice(0, 2), ['send:notification', 'close']);
    const cease = d.lastNotification();
    assert.equal(codes(cease), '6/2');
    assert.ok(cease.data.length > 1, 'RFC 9003 shutdown communication');
    assert.equal(d.state, 'Idle');
    assert.equal(d.timers.size, 0, 'every timer stopped');
    assert.equal(d.lastDown().kind, 'stopped');
    assert.equal(d.lastDown().retryInMs, undefined);
    assert.deepEqual(
      d.types(d.feed({ type: 'timerExpired', timer: 'keepalive' })),
      [],
      'stale expiry ignored',
    );
  });

  it('stop for a removed peer sends Cease Peer De-configured (6/3), also from OpenSent', () => {
    const d = new Driver();
    d.feed({ type: 'start' });
    d.feed({ type: 'tcpConnected' });
    d.feed({ type: 'stop', reason: 'deconfigured' });
    assert.equal(codes(d.lastNotification()), '6/3');
    assert.equal(d.state, 'Idle');
  });

  it('stop without a connection sends nothing: Connect abandons the attempt, Active cancels the retry', () => {
    const connecting = new Driver();
    connecting.feed({ type: 'start' });
    assert.deepEqual(connecting.types(connecting.feed({ type: 'stop', reason: 'shutdown' })), [
      'close',
      'stateChanged',
      'down',
    ]);
    const waiting = new Driver();
    waiting.feed({ type: 'start' });
    waiting.feed({ type: 'tcpFailed', error: 'ECONNREFUSED' });
    assert.deepEqual(waiting.types(waiting.feed({ type: 'stop', reason: 'shutdown' })), [
      'stopTimer',
      'stateChanged',
      'down',
    ]);
    assert.equal(waiting.sent.length, 0);
    assert.deepEqual(waiting.types(waiting.feed({ type: 'stop', reason: 'shutdown' })), [], 'idempotent');
    waiting.feed({ type: 'start' });
    assert.equal(waiting.state, 'Connect', 'a stopped FSM can be started again');
  });

  it('a decode error sends the NOTIFICATION it carries (code, subcode, data) and closes', () => {
    const d = new Driver();
    d.establish();
    const data = Buffer.from([0x40, 0x01, 0x01, 0x07]);
    d.feed({
      type: 'decodeError',
      error: new BgpWireError(ERROR_CODE.UPDATE_MESSAGE, UPDATE_SUBCODE.MALFORMED_ATTRIBUTE_LIST, 'bad', {
        data,
      }),
    });
    const sent = d.lastNotification();
    assert.equal(codes(sent), '3/1');
    assert.deepEqual(sent.data, data);
    assert.equal(d.state, 'Active');
    assert.equal(d.lastDown().kind, 'notificationSent');

    const header = new Driver();
    header.feed({ type: 'start' });
    header.feed({ type: 'tcpConnected' });
    header.feed({
      type: 'decodeError',
      error: new BgpWireError(ERROR_CODE.MESSAGE_HEADER, 1, 'marker'),
    });
    assert.equal(codes(header.lastNotification()), '1/1');
  });

  it('an UPDATE error that RFC 7606 handles gently keeps the session (we import nothing)', () => {
    const d = new Driver({ holdTimeSeconds: 3 });
    d.establish(peerOpen({ holdTime: 3 }));
    d.advance(2000);
    const actions = d.feed({
      type: 'decodeError',
      error: new BgpWireError(ERROR_CODE.UPDATE_MESSAGE, UPDATE_SUBCODE.ATTRIBUTE_FLAGS_ERROR, 'flags', {
        errorHandling: 'treat-as-withdraw',
      }),
    });
    assert.deepEqual(d.types(actions), ['startTimer'], 'hold timer restarted, nothing sent');
    assert.equal(d.state, 'Established');
  });

  it('a NOTIFICATION from the peer closes without answering, and backs off', () => {
    const d = new Driver();
    d.establish();
    const sentBefore = d.sent.length;
    d.receive({ type: 'notification', errorCode: 6, errorSubcode: 4, data: Buffer.alloc(0) });
    assert.equal(d.sent.length, sentBefore);
    assert.equal(d.state, 'Active');
    const down = d.lastDown();
    assert.equal(down.kind, 'notificationReceived');
    assert.equal(down.notification && codes(down.notification), '6/4');
    assert.match(down.message, /Cease\/ADMINISTRATIVE_RESET \(6\/4\)/);
  });

  it('the peer closing the connection takes the session down and schedules a reconnect', () => {
    const d = new Driver();
    d.establish();
    d.feed({ type: 'tcpClosed', error: 'ECONNRESET' });
    assert.equal(d.state, 'Active');
    assert.equal(d.lastDown().kind, 'connectionClosed');
    d.advance(375);
    assert.equal(d.state, 'Connect');
  });

  it('ROUTE-REFRESH asks for the table of a negotiated family again; others are ignored', () => {
    const d = new Driver();
    d.establish(peerOpen({}, [{ kind: 'multiprotocol', afi: 1, safi: 1 }]));
    assert.deepEqual(d.receive({ type: 'routeRefresh', afi: 1, safi: 1, subtype: 0 }).at(-1), {
      type: 'sendTable',
      family: 4,
    });
    assert.ok(
      !d.receive({ type: 'routeRefresh', afi: 2, safi: 1, subtype: 0 }).some((a) => a.type === 'sendTable'),
    );
    assert.ok(
      !d.receive({ type: 'routeRefresh', afi: 1, safi: 1, subtype: 1 }).some((a) => a.type === 'sendTable'),
    );
    assert.equal(d.state, 'Established');
  });

  it('validates its configuration', () => {
    assert.throws(() => new Driver({ myAsn: 0 }), RangeError);
    assert.throws(() => new Driver({ peerAsn: 2 ** 32 }), RangeError);
    assert.throws(() => new Driver({ routerId: parseIp('0.0.0.0') }), RangeError);
    assert.throws(() => new Driver({ routerId: parseIp('fd00::1') }), RangeError);
    assert.throws(() => new Driver({ families: [] }), RangeError);
    assert.throws(() => new Driver({ gracefulRestart: { restartTimeSeconds: 4096 } }), RangeError);
  });
});
