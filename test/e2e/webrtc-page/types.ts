// What the test-only WebRTC seat page (phone.ts) reports back to the test.
export interface CallOutcome {
  /** 'established', or the final status of a refused INVITE. */
  result: 'established' | number;
  reason: string | null;
}

export interface MediaStats {
  connectionState: string;
  dtlsState: string | null;
  packetsSent: number;
  packetsReceived: number;
  /** re-INVITEs the call received. */
  reinvites: number;
  /** sip.js SessionState of the call. */
  sessionState: string;
  localSdp: string | null;
  remoteSdp: string | null;
}
