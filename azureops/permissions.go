package azureops

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
)

// RequiredAction is one Azure RBAC action the link needs on the managed instance.
type RequiredAction struct {
	Action string // e.g. Microsoft.Sql/managedInstances/hybridLink/write
	Why    string // what the link does with it
}

// RequiredActions returns the actions of Microsoft's "Permissions" table for the link
// (what the built-in role "SQL Managed Instance Contributor" grants).
func RequiredActions() []RequiredAction {
	const mi = "Microsoft.Sql/managedInstances"
	return []RequiredAction{
		{mi + "/read", "read the managed instance"},
		{mi + "/write", "update the managed instance"},
		{mi + "/hybridCertificate/action", "upload SQL Server's certificate to the managed instance"},
		{mi + "/databases/read", "read the databases of the managed instance"},
		{mi + "/databases/delete", "remove a linked database"},
		{mi + "/databases/write", "create the replicated database"},
		{mi + "/databases/completeRestore/action", "complete the database seeding"},
		{mi + "/databases/readBackups/action", "read the replicated database's backups"},
		{mi + "/databases/restoreDetails/read", "follow the database seeding"},
		{mi + "/distributedAvailabilityGroups/read", "read the link (distributed availability group)"},
		{mi + "/distributedAvailabilityGroups/write", "create the link (distributed availability group)"},
		{mi + "/distributedAvailabilityGroups/delete", "delete the link"},
		{mi + "/distributedAvailabilityGroups/setRole/action", "fail over the link"},
		{mi + "/endpointCertificates/read", "read the managed instance's endpoint certificate for SQL Server"},
		{mi + "/hybridLink/read", "read the link"},
		{mi + "/hybridLink/write", "create the link"},
		{mi + "/hybridLink/delete", "delete the link"},
		{mi + "/serverTrustCertificates/write", "trust SQL Server's certificate on the managed instance"},
		{mi + "/serverTrustCertificates/delete", "remove SQL Server's certificate from the managed instance"},
		{mi + "/serverTrustCertificates/read", "read the trusted certificates"},
	}
}

// Permission is one entry of the caller's effective permissions: an action is granted
// by the entry when some Actions pattern matches it and no NotActions pattern does.
type Permission struct {
	Actions    []string
	NotActions []string
}

// Allows reports whether action is granted by p (Azure RBAC semantics: '*' matches any
// run of characters, comparison is case-insensitive).
func (p Permission) Allows(action string) bool {
	granted := false
	for _, a := range p.Actions {
		if MatchAction(a, action) {
			granted = true
			break
		}
	}
	if !granted {
		return false
	}
	for _, n := range p.NotActions {
		if MatchAction(n, action) {
			return false
		}
	}
	return true
}

// Allowed reports whether any of perms grants action.
func Allowed(perms []Permission, action string) bool {
	for _, p := range perms {
		if p.Allows(action) {
			return true
		}
	}
	return false
}

// MatchAction reports whether the RBAC pattern (which may contain '*' wildcards) matches
// action, case-insensitively.
func MatchAction(pattern, action string) bool {
	return globMatch(strings.ToLower(pattern), strings.ToLower(action))
}

// globMatch matches s against p where '*' stands for any run of characters.
func globMatch(p, s string) bool {
	// Iterative matching with backtracking to the last '*'.
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// CheckPermissions reads the caller's effective permissions on the managed instance and
// returns one Fail finding per required action that is missing, or one Pass finding. When
// Azure refuses to show the permissions (403), it returns a Warn finding, not an error.
func CheckPermissions(ctx context.Context, cred azcore.TokenCredential, c Cloud, mi MIRef, opts ...Option) ([]Finding, error) {
	if err := mi.Validate(); err != nil {
		return nil, err
	}
	client, err := armauthorization.NewPermissionsClient(mi.SubscriptionID, cred, armOptions(c, opts))
	if err != nil {
		return nil, fmt.Errorf("permissions on %s: %w", mi, err)
	}
	assignee := callerName(ctx, cred, c)
	fix := Fix{Platform: "Azure", Command: fmt.Sprintf(`az role assignment create --assignee %s --role "SQL Managed Instance Contributor" --scope %s`, assignee, mi.ResourceID())}
	var perms []Permission
	pager := client.NewListForResourcePager(mi.ResourceGroup, "Microsoft.Sql", "", "managedInstances", mi.Name, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if sc := statusCode(err); sc == http.StatusForbidden || sc == http.StatusUnauthorized {
				return []Finding{{
					ID:       "azure-permissions",
					Severity: SeverityWarn,
					Title:    fmt.Sprintf("cannot read your permissions on %s: %s", mi.Name, ARMErrorSummary(err)),
					Detail: "milink could not list your effective Azure permissions on " + mi.ResourceID() +
						", so it cannot tell whether you may create the link. " + ExplainAuthError(err) +
						". Creating the link needs the role \"SQL Managed Instance Contributor\" (or a custom role with the " +
						fmt.Sprint(len(RequiredActions())) + " Microsoft.Sql/managedInstances actions of the preparation guide).",
					Fixes: []Fix{fix},
				}}, nil
			}
			return nil, fmt.Errorf("permissions on %s: %s: %w", mi, ARMErrorSummary(err), err)
		}
		for _, p := range page.Value {
			if p == nil {
				continue
			}
			perms = append(perms, Permission{Actions: derefAll(p.Actions), NotActions: derefAll(p.NotActions)})
		}
	}
	var fs []Finding
	for _, ra := range RequiredActions() {
		if Allowed(perms, ra.Action) {
			continue
		}
		fs = append(fs, Finding{
			ID:       "azure-permission:" + ra.Action,
			Severity: SeverityFail,
			Title:    fmt.Sprintf("missing Azure permission %s on %s", ra.Action, mi.Name),
			Detail: fmt.Sprintf("The link needs %s to %s. None of your role assignments grants it on %s "+
				"(it is not in your effective Actions, or it is excluded by NotActions). Assign the built-in role "+
				"\"SQL Managed Instance Contributor\", or add the action to your custom role.", ra.Action, ra.Why, mi.ResourceID()),
			Fixes: []Fix{fix},
		})
	}
	if len(fs) == 0 {
		fs = append(fs, Finding{
			ID:       "azure-permissions",
			Severity: SeverityPass,
			Title:    fmt.Sprintf("you have all %d Azure permissions the link needs on %s", len(RequiredActions()), mi.Name),
			Detail:   "Checked your effective permissions on " + mi.ResourceID() + " (deny assignments are not included in this check).",
		})
	}
	return fs, nil
}

func derefAll(ss []*string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s != nil {
			out = append(out, *s)
		}
	}
	return out
}

// callerName returns the signed-in user or application from the Resource Manager token's
// claims, for the --assignee of a fix; a placeholder when it cannot tell. The token itself
// is never returned.
func callerName(ctx context.Context, cred azcore.TokenCredential, c Cloud) string {
	const placeholder = "<your user name or application ID>"
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.ResourceManagerScope()}})
	if err != nil {
		return placeholder
	}
	parts := strings.Split(tok.Token, ".")
	if len(parts) != 3 {
		return placeholder
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return placeholder
	}
	var claims struct {
		UPN        string `json:"upn"`
		Preferred  string `json:"preferred_username"`
		UniqueName string `json:"unique_name"`
		AppID      string `json:"appid"`
		IDType     string `json:"idtyp"`
		OID        string `json:"oid"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return placeholder
	}
	for _, v := range []string{claims.UPN, claims.Preferred, claims.UniqueName} {
		if v != "" && isSafeAssignee(v) {
			return v
		}
	}
	if claims.IDType == "app" && isGUID(claims.AppID) {
		return claims.AppID
	}
	if isGUID(claims.OID) {
		return claims.OID
	}
	return placeholder
}

// isSafeAssignee keeps shell metacharacters out of the suggested command.
func isSafeAssignee(s string) bool {
	if len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@._-#", r)) {
			return false
		}
	}
	return true
}
