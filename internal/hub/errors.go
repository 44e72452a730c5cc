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
	// ErrForbidden is returned by an Authorizer that refuses a subscription.
	ErrForbidden = errors.New("forbidden")
	// ErrClosed is returned once the hub has shut down.
	ErrClosed = errors.New("realtime: the hub is shut down")
)
