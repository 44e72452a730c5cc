// Package pusher holds the pure, hub-independent parts of Pusher protocol v7
// compatibility (SPEC §8; protocol facts and sources in PUSHER.md): signatures,
// channel kinds and names, client frame decoding, server frame encoding,
// socket ids, presence member data and the HTTP API's request and response
// bodies.
//
// Nothing here does I/O, keeps state or knows the hub: the connection adapter
// and the HTTP API handlers build on these functions, so every rule that a
// Pusher SDK can observe is decided, documented and tested in one place.
//
// Errors are sentinel values wrapped with a detail ("pusher: ..."), so callers
// branch with errors.Is and show Error() to the client; no error message
// contains the app secret or an expected signature.
package pusher
