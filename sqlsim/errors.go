package sqlsim

import (
	"errors"

	"github.com/milink/milink/sqlsim/tds"
)

// execError is one or more SQL Server messages raised together (Msg 300 is followed
// by Msg 297) and how far they unwind: abort is set for errors that end the whole
// batch (compile errors such as 208/207/102, THROW, conversion failures), as
// https://learn.microsoft.com/sql/t-sql/language-elements/try-catch-transact-sql and
// the "Understanding database engine errors" page describe; statement-level errors
// (most RAISERROR and procedure errors) let the batch go on.
type execError struct {
	msgs  []*tds.Error
	abort bool
}

func (e *execError) Error() string { return e.msgs[len(e.msgs)-1].Message }

// first is the error a client reports first (its number is @@ERROR's).
func (e *execError) last() *tds.Error { return e.msgs[len(e.msgs)-1] }

// sqlErr makes a statement-level error with the given number, class and message.
func sqlErr(num int32, class uint8, msg string) error {
	return &execError{msgs: []*tds.Error{{Number: num, State: 1, Class: class, Message: msg}}}
}

// abortErr makes a batch-aborting error.
func abortErr(num int32, class uint8, msg string) error {
	return &execError{msgs: []*tds.Error{{Number: num, State: 1, Class: class, Message: msg}}, abort: true}
}

// asExecError converts any error to an execError (a *tds.Error keeps its fields).
func asExecError(err error) *execError {
	var ee *execError
	if errors.As(err, &ee) {
		return ee
	}
	var te *tds.Error
	if errors.As(err, &te) {
		return &execError{msgs: []*tds.Error{te}}
	}
	return &execError{msgs: []*tds.Error{{Number: 50000, State: 1, Class: 16, Message: err.Error()}}}
}

// flow signals BREAK, CONTINUE and RETURN through the statement executor.
type flow struct {
	kind   string // "BREAK", "CONTINUE", "RETURN"
	status int64
}

func (f *flow) Error() string { return f.kind }
