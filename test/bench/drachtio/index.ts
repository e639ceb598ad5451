// The call bench's drachtio-server stand-in: start one per test file, connect drachtio-srf to
// `adminPort` with secret `cymru`, send SIP to `sipAddress:sipPort`.
export { startDrachtio, DrachtioServer } from './standin.js';
export type { DrachtioOptions, DrachtioStandIn, FrameRecord, FrameDirection } from './standin.js';
export { parseTraceFile, compareFlows, shapesOf, describe as describeShape } from './trace.js';
export type { TraceFrame, FrameShape, Comparison } from './trace.js';
export { encodeFrame, FrameDecoder, FrameError } from './wire.js';
