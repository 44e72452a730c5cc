package pusher

// Codes carried by pusher:error frames and used as WebSocket close codes.
// pusher-js acts on the close code's range (PUSHER.md §8): 4000–4099 never
// reconnect, 4100–4199 reconnect after 1 s, 4200–4299 reconnect at once,
// 4300 and above never reconnect. A pusher:error on an open connection only
// emits an error event, so the 43xx codes below are safe there: they must
// never be used to close a connection a client should retry (SPEC §8).
const (
	// CodeAppDoesNotExist: unknown app key; sent, then the connection is closed.
	CodeAppDoesNotExist = 4001
	// CodeUnauthorized: bad signin, or terminate_connections/disconnectUser
	// (close code: pusher-js must not reconnect).
	CodeUnauthorized = 4009
	// CodeOverCapacity: max_connections reached (close code: retry after 1 s).
	CodeOverCapacity = 4100
	// CodeReconnect: generic "reconnect now", used for shutdown and for
	// frames the server cannot understand (Reverb's "Invalid message format").
	CodeReconnect = 4200
	// CodePongTimeout: no answer to pusher:ping in time.
	CodePongTimeout = 4201
	// CodeFrameTooLarge: a client frame over max_frame_size (error frame
	// only; the frame is dropped and the connection kept).
	CodeFrameTooLarge = 4300
	// CodeClientEventRejected: a client event refused (disabled, rate
	// limited, wrong channel); error frame only.
	CodeClientEventRejected = 4301
)
