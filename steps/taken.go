package steps

import (
	"context"
	"errors"
	"fmt"

	"github.com/milink/milink/sqlops"
)

// Names taken after the plan was made: two milink runs started together both plan the
// default names (TestMILinkConnection, NetHelper, TEST_CERT) and only one can create
// each. The second moves to its own suffixed name (nameSuffix, bumpName) when the
// object in the way is milink's (keyed mark) of another run; anything else stays an
// error. The mirroring endpoint can't be moved: SQL Server has only one.

// nextJobName is the name to create a job under when taken, the planned name, was
// taken after the plan was made: by a job milink marked for another run (two runs
// started together), the run moves to its own suffixed name (nameSuffix, then _2,
// _3, ...). Any other owner keeps sqlops.ErrNotOurs.
func (r *runner) nextJobName(ctx context.Context, c *sqlops.Conn, purpose, taken string) (string, string, error) {
	j, err := c.JobByName(ctx, taken)
	if err != nil {
		return "", "", err
	}
	if j == nil {
		return "", "", fmt.Errorf("create job %q: %w, and it is gone again", taken, sqlops.ErrNotOurs)
	}
	run, ours := c.OwnsJob(*j)
	if !ours || run == r.Plan.RunID {
		return "", "", fmt.Errorf("create job %q: %w", taken, sqlops.ErrNotOurs)
	}
	next := bumpName(taken, nameSuffix(r.Plan.RunID))
	k, err := c.OwnerKey()
	if err != nil {
		return "", "", err
	}
	return next, sqlops.JobDescription(purpose, k.Mark(sqlops.KindJob, next, r.Plan.RunID)), nil
}

// takenByOtherRun reports whether *err (from creating the test certificate called
// name) means that another milink run's certificate has that name. When the
// certificate cannot be read back to tell, *err says so too.
func (r *runner) takenByOtherRun(ctx context.Context, err *error, name string) bool {
	if *err == nil || !errors.Is(*err, sqlops.ErrNotOurs) && sqlops.SQLError(*err) != sqlops.ErrNumCertExists {
		return false
	}
	var ce *sqlops.Certificate
	lerr := sqlops.RetryWithin(ctx, r.SQL.Cfg.ReconnectWindowOrDefault(), func() (e error) {
		ce, e = r.SQL.CertificateByName(ctx, name)
		return e
	})
	if lerr != nil {
		*err = fmt.Errorf("%w (reading it back to see whose it is failed: %v)", *err, lerr)
		return false
	}
	if ce == nil {
		return false
	}
	run, ours := r.SQL.Owns(sqlops.KindCertificate, ce.Name, ce.Subject)
	return ours && run != r.Plan.RunID
}

// endpointOfLiveRun says why the MI → SQL Server direction can't run when creating the
// test endpoint failed because a database mirroring endpoint exists (Msg 7862, or Msg
// 7856 when it has the same name) and it is another, still running, milink run's; ""
// otherwise.
func (r *runner) endpointOfLiveRun(ctx context.Context, err error) string {
	if n := sqlops.SQLError(err); n != sqlops.ErrNumEndpointExists && n != sqlops.ErrNumEndpointName {
		return ""
	}
	eps, lerr := r.SQL.MirroringEndpoints(ctx)
	if lerr != nil {
		return ""
	}
	for _, ep := range eps {
		run, ours := r.SQL.OwnedEndpoint(ep.Name, ep.CertificateName, ep.CertificateSubject)
		if !ours || run == r.Plan.RunID {
			continue
		}
		if live, lerr := r.SQL.RunLive(ctx, run); lerr == nil && live {
			return fmt.Sprintf("the only database mirroring endpoint, %s, was created by milink run %s, which is still running (it started together with this one): run milink again when it has finished", ep.Name, run)
		}
	}
	return ""
}
