package hub

import (
	"errors"
	"fmt"
)

// InputError reports an argument the caller must fix: PHP turns it into a
// ValueError and the admin API into a 400.
type InputError struct{ msg string }

func (e *InputError) Error() string { return e.msg }

func inputErrorf(format string, args ...any) error {
	return &InputError{msg: fmt.Sprintf(format, args...)}
}

// IsInputError reports whether err is the caller's fault.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

var (
	// ErrClosed is returned once the hub has shut down.
	ErrClosed = errors.New("realtime: the hub is shut down")
)

// NewInputError makes an InputError of a message from elsewhere (the admin
// API's 400 answer, for php-cli).
func NewInputError(msg string) error { return &InputError{msg: msg} }
