/** Why a byte stream was rejected. */
export type WireErrorCode =
  | "FRAME_TOO_LARGE"
  | "FRAME_TOO_SMALL"
  | "UNKNOWN_KIND"
  | "BAD_BODY"
  | "TOO_DEEP"
  | "UNSUPPORTED_VALUE"
  | "META_TOO_LARGE"
  | "DISCARDED";

/** A violation of the wire format. The connection that sent it is closed. */
export class WireError extends Error {
  override readonly name = "WireError";
  constructor(
    readonly code: WireErrorCode,
    message: string,
  ) {
    super(message);
  }
}
