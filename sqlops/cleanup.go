package sqlops

import (
	"context"
	"database/sql"
	"fmt"
)

// Leftovers are the objects carrying a milink marker found on one instance.
type Leftovers struct {
	Jobs         []Job
	Endpoints    []Endpoint
	Certificates []Certificate
}

// Empty reports whether nothing was found.
func (l Leftovers) Empty() bool {
	return len(l.Jobs) == 0 && len(l.Endpoints) == 0 && len(l.Certificates) == 0
}

// Count returns the number of objects found.
func (l Leftovers) Count() int { return len(l.Jobs) + len(l.Endpoints) + len(l.Certificates) }

// FindLeftovers lists every job, endpoint and certificate that carries a milink
// marker. Only marked objects are returned; the marker is re-checked in Go as well as
// by the LIKE pattern.
func (c *Conn) FindLeftovers(ctx context.Context) (Leftovers, error) {
	var l Leftovers
	pat := sql.Named("pattern", MarkerLikePattern)
	rows, err := c.DB.QueryContext(ctx, Query(TagJobsMarked), pat)
	if err != nil {
		return l, fmt.Errorf("find milink jobs: %w", err)
	}
	for rows.Next() {
		var j Job
		if err := rows.Scan(&j.ID, &j.Name, &j.Description); err != nil {
			rows.Close()
			return l, fmt.Errorf("find milink jobs: %w", err)
		}
		if _, ok := j.RunID(); ok {
			l.Jobs = append(l.Jobs, j)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return l, fmt.Errorf("find milink jobs: %w", err)
	}
	rows, err = c.DB.QueryContext(ctx, Query(TagEndpointsMarked), pat)
	if err != nil {
		return l, fmt.Errorf("find milink endpoints: %w", err)
	}
	for rows.Next() {
		var e Endpoint
		if err := rows.Scan(&e.ID, &e.Name, &e.Type, &e.State, &e.Port, &e.CertificateName, &e.CertificateSubject); err != nil {
			rows.Close()
			return l, fmt.Errorf("find milink endpoints: %w", err)
		}
		if _, ok := MarkedRunID(e.CertificateSubject); ok {
			l.Endpoints = append(l.Endpoints, e)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return l, fmt.Errorf("find milink endpoints: %w", err)
	}
	rows, err = c.DB.QueryContext(ctx, Query(TagCertsMarked), pat)
	if err != nil {
		return l, fmt.Errorf("find milink certificates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ce Certificate
		if err := rows.Scan(&ce.ID, &ce.Name, &ce.Subject); err != nil {
			return l, fmt.Errorf("find milink certificates: %w", err)
		}
		if _, ok := MarkedRunID(ce.Subject); ok {
			l.Certificates = append(l.Certificates, ce)
		}
	}
	if err := rows.Err(); err != nil {
		return l, fmt.Errorf("find milink certificates: %w", err)
	}
	return l, nil
}

// Removed is one object a cleanup removed or failed to remove.
type Removed struct {
	Kind string // "job", "endpoint", "certificate"
	Name string
	Err  error
}

// RemoveLeftovers removes what FindLeftovers found: jobs first, then endpoints, then
// certificates (an endpoint holds its certificate). Each object's marker is checked
// again right before it is dropped.
func (c *Conn) RemoveLeftovers(ctx context.Context, l Leftovers) []Removed {
	var out []Removed
	for _, j := range l.Jobs {
		_, err := c.DeleteJob(ctx, &j, "")
		out = append(out, Removed{Kind: "job", Name: j.Name, Err: err})
	}
	for _, e := range l.Endpoints {
		_, err := c.DropTestEndpoint(ctx, e.Name, "")
		out = append(out, Removed{Kind: "endpoint", Name: e.Name, Err: err})
	}
	for _, ce := range l.Certificates {
		_, err := c.DropTestCertificate(ctx, ce.Name, "")
		out = append(out, Removed{Kind: "certificate", Name: ce.Name, Err: err})
	}
	return out
}

// Inventory lists every job, endpoint and certificate on the instance, milink's or not;
// tests use it to prove that a user's objects were left untouched.
func (c *Conn) Inventory(ctx context.Context) (Leftovers, error) {
	var l Leftovers
	rows, err := c.DB.QueryContext(ctx, Query(TagListJobs))
	if err != nil {
		return l, fmt.Errorf("list jobs: %w", err)
	}
	for rows.Next() {
		var j Job
		if err := rows.Scan(&j.ID, &j.Name, &j.Description); err != nil {
			rows.Close()
			return l, fmt.Errorf("list jobs: %w", err)
		}
		l.Jobs = append(l.Jobs, j)
	}
	rows.Close()
	rows, err = c.DB.QueryContext(ctx, Query(TagListEndpoints))
	if err != nil {
		return l, fmt.Errorf("list endpoints: %w", err)
	}
	for rows.Next() {
		var e Endpoint
		if err := rows.Scan(&e.ID, &e.Name, &e.Type, &e.State, &e.Port); err != nil {
			rows.Close()
			return l, fmt.Errorf("list endpoints: %w", err)
		}
		l.Endpoints = append(l.Endpoints, e)
	}
	rows.Close()
	rows, err = c.DB.QueryContext(ctx, Query(TagListCerts))
	if err != nil {
		return l, fmt.Errorf("list certificates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ce Certificate
		var subj sql.NullString
		if err := rows.Scan(&ce.ID, &ce.Name, &subj); err != nil {
			return l, fmt.Errorf("list certificates: %w", err)
		}
		ce.Subject = subj.String
		l.Certificates = append(l.Certificates, ce)
	}
	return l, rows.Err()
}
