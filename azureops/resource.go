package azureops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
)

// MIRef identifies a managed instance in Azure Resource Manager.
type MIRef struct {
	SubscriptionID string
	ResourceGroup  string
	Name           string
	// SubnetID is the resource ID of the instance's subnet when known (FindMIByFQDN
	// fills it); CheckNSG reads the instance to find it when it is empty.
	SubnetID string
}

// ResourceID returns the ARM resource ID of the managed instance.
func (m MIRef) ResourceID() string {
	return "/subscriptions/" + m.SubscriptionID + "/resourceGroups/" + m.ResourceGroup +
		"/providers/Microsoft.Sql/managedInstances/" + m.Name
}

// String returns the resource group and name, for messages.
func (m MIRef) String() string {
	return m.ResourceGroup + "/" + m.Name
}

// Validate checks the subscription ID, resource group and instance name.
func (m MIRef) Validate() error {
	if err := ValidateSubscriptionID(m.SubscriptionID); err != nil {
		return err
	}
	if err := ValidateResourceGroup(m.ResourceGroup); err != nil {
		return err
	}
	return ValidateMIName(m.Name)
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidRE.MatchString(s) }

// ValidateSubscriptionID checks that id is a subscription ID (a GUID).
func ValidateSubscriptionID(id string) error {
	if !isGUID(id) {
		return fmt.Errorf("%w: subscription ID %q is not a GUID like 00000000-0000-0000-0000-000000000000 (az account list -o table shows yours)", ErrInvalidInput, id)
	}
	return nil
}

// ValidateResourceGroup checks Azure's rules for resource group names: 1-90 letters,
// digits, '_', '-', '.', '(' or ')', not ending with '.'.
func ValidateResourceGroup(rg string) error {
	n := len([]rune(rg))
	if n < 1 || n > 90 {
		return fmt.Errorf("%w: resource group name %q must be 1-90 characters long", ErrInvalidInput, rg)
	}
	for _, r := range rg {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-.()", r)) {
			return fmt.Errorf("%w: resource group name %q contains %q: only letters, digits, '_', '-', '.', '(' and ')' are allowed", ErrInvalidInput, rg, r)
		}
	}
	if strings.HasSuffix(rg, ".") {
		return fmt.Errorf("%w: resource group name %q must not end with '.'", ErrInvalidInput, rg)
	}
	return nil
}

// ValidateMIName checks Azure's rules for managed instance names: 1-63 lowercase
// letters, digits and '-', not starting or ending with '-'.
func ValidateMIName(name string) error {
	if len(name) < 1 || len(name) > 63 {
		return fmt.Errorf("%w: managed instance name %q must be 1-63 characters long", ErrInvalidInput, name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("%w: managed instance name %q contains %q: only lowercase letters, digits and '-' are allowed", ErrInvalidInput, name, r)
		}
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return fmt.Errorf("%w: managed instance name %q must not start or end with '-'", ErrInvalidInput, name)
	}
	return nil
}

// ParseMIResourceID parses /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Sql/managedInstances/<name>
// (keywords are case-insensitive, as in ARM) and validates each part.
func ParseMIResourceID(id string) (MIRef, error) {
	const want = "/subscriptions/<subscription id>/resourceGroups/<resource group>/providers/Microsoft.Sql/managedInstances/<name>"
	s := strings.TrimSuffix(strings.TrimSpace(id), "/")
	parts := strings.Split(s, "/")
	if len(parts) != 9 || parts[0] != "" ||
		!strings.EqualFold(parts[1], "subscriptions") || !strings.EqualFold(parts[3], "resourceGroups") ||
		!strings.EqualFold(parts[5], "providers") {
		return MIRef{}, fmt.Errorf("%w: %q is not a managed instance resource ID: expected %s", ErrInvalidInput, id, want)
	}
	if !strings.EqualFold(parts[6], "Microsoft.Sql") || !strings.EqualFold(parts[7], "managedInstances") {
		return MIRef{}, fmt.Errorf("%w: %q is a %s/%s resource, not a managed instance: expected %s", ErrInvalidInput, id, parts[6], parts[7], want)
	}
	m := MIRef{SubscriptionID: parts[2], ResourceGroup: parts[4], Name: parts[8]}
	if err := m.Validate(); err != nil {
		return MIRef{}, fmt.Errorf("managed instance resource ID: %w", err)
	}
	return m, nil
}

// Option adjusts how Resource Manager is called.
type Option func(*armConfig)

type armConfig struct {
	transport  policy.Transporter
	maxRetries int
}

// WithTransport sends every Resource Manager request through t (tests use the SDK's fake
// server transports).
func WithTransport(t policy.Transporter) Option {
	return func(c *armConfig) { c.transport = t }
}

// WithMaxRetries sets how often a throttled (429) or failed (5xx) Resource Manager
// request is retried; -1 disables retries. The default is the SDK's (3).
func WithMaxRetries(n int) Option {
	return func(c *armConfig) { c.maxRetries = n }
}

func armOptions(c Cloud, opts []Option) *arm.ClientOptions {
	var cfg armConfig
	for _, o := range opts {
		o(&cfg)
	}
	o := &arm.ClientOptions{DisableRPRegistration: true} // milink only reads: never register providers
	o.Cloud = c.Config
	if cfg.transport != nil {
		o.Transport = cfg.transport
	}
	o.Retry.MaxRetries = int32(cfg.maxRetries)
	return o
}

// Subscription is one subscription the caller can see.
type Subscription struct {
	ID    string `json:"subscriptionId"`
	Name  string `json:"displayName"`
	State string `json:"state"`
}

// ListSubscriptions lists the subscriptions the credential can see in cloud.
func ListSubscriptions(ctx context.Context, cred azcore.TokenCredential, c Cloud, opts ...Option) ([]Subscription, error) {
	client, err := arm.NewClient("milink/azureops", "v1.0.0", cred, armOptions(c, opts))
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	// The API name lets tracing and test transports recognise the call, as for generated clients.
	ctx = context.WithValue(ctx, runtime.CtxAPINameKey{}, "SubscriptionsClient.NewListPager")
	next := runtime.JoinPaths(client.Endpoint(), "/subscriptions") + "?api-version=2022-12-01"
	var subs []Subscription
	for next != "" {
		req, err := runtime.NewRequest(ctx, http.MethodGet, next)
		if err != nil {
			return nil, fmt.Errorf("list subscriptions: %w", err)
		}
		resp, err := client.Pipeline().Do(req)
		if err != nil {
			return nil, fmt.Errorf("list subscriptions: %w", err)
		}
		if !runtime.HasStatusCode(resp, http.StatusOK) {
			return nil, fmt.Errorf("list subscriptions: %w", runtime.NewResponseError(resp))
		}
		var page struct {
			Value    []Subscription `json:"value"`
			NextLink string         `json:"nextLink"`
		}
		if err := runtime.UnmarshalAsJSON(resp, &page); err != nil {
			return nil, fmt.Errorf("list subscriptions: %w", err)
		}
		subs = append(subs, page.Value...)
		next = page.NextLink
	}
	return subs, nil
}

// ErrMINotFound is wrapped when no managed instance has the host name FindMIByFQDN looks for.
var ErrMINotFound = errors.New("managed instance not found")

// FindMIByFQDN finds the managed instance whose fully qualified domain name is fqdn
// (case-insensitive) in the given subscriptions (all visible subscriptions when none are
// given), and returns it with its subnet ID.
func FindMIByFQDN(ctx context.Context, cred azcore.TokenCredential, c Cloud, subscriptionIDs []string, fqdn string, opts ...Option) (MIRef, error) {
	want := normalizeHost(fqdn)
	if err := c.CheckMIHost(want); err != nil {
		return MIRef{}, err
	}
	if len(subscriptionIDs) == 0 {
		subs, err := ListSubscriptions(ctx, cred, c, opts...)
		if err != nil {
			return MIRef{}, fmt.Errorf("find managed instance %s: %w", want, err)
		}
		for _, s := range subs {
			subscriptionIDs = append(subscriptionIDs, s.ID)
		}
		if len(subscriptionIDs) == 0 {
			return MIRef{}, fmt.Errorf("find managed instance %s: %w: your account sees no subscription in %s", want, ErrMINotFound, c.Name)
		}
	}
	var problems []string
	seen := 0
	for _, sub := range subscriptionIDs {
		if err := ValidateSubscriptionID(sub); err != nil {
			return MIRef{}, err
		}
		client, err := armsql.NewManagedInstancesClient(sub, cred, armOptions(c, opts))
		if err != nil {
			return MIRef{}, fmt.Errorf("find managed instance %s: %w", want, err)
		}
		pager := client.NewListPager(nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return MIRef{}, fmt.Errorf("find managed instance %s: %w", want, ctx.Err())
				}
				// One unreadable subscription must not hide the instance in another one.
				problems = append(problems, "subscription "+sub+": "+ARMErrorSummary(err))
				break
			}
			for _, mi := range page.Value {
				seen++
				if mi == nil || mi.Properties == nil || mi.Properties.FullyQualifiedDomainName == nil {
					continue
				}
				if normalizeHost(*mi.Properties.FullyQualifiedDomainName) != want {
					continue
				}
				if mi.ID == nil {
					return MIRef{}, fmt.Errorf("find managed instance %s: Resource Manager returned it without a resource ID", want)
				}
				ref, err := ParseMIResourceID(*mi.ID)
				if err != nil {
					return MIRef{}, fmt.Errorf("find managed instance %s: %w", want, err)
				}
				if mi.Properties.SubnetID != nil {
					ref.SubnetID = *mi.Properties.SubnetID
				}
				return ref, nil
			}
		}
	}
	msg := fmt.Sprintf("find managed instance %s: %v: none of the %d managed instances in %d subscription(s) has this host name",
		want, ErrMINotFound, seen, len(subscriptionIDs))
	if len(problems) > 0 {
		msg += "; could not list " + strings.Join(problems, "; ")
	}
	return MIRef{}, &notFoundError{msg: msg}
}

type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }
func (e *notFoundError) Unwrap() error { return ErrMINotFound }

// ARMErrorSummary turns a Resource Manager error into one line: "403 AuthorizationFailed:
// <message>". It never includes request headers or tokens.
func ARMErrorSummary(err error) string {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return redact(firstLine(err.Error()))
	}
	msg := ""
	if re.RawResponse != nil {
		if body, e := runtime.Payload(re.RawResponse); e == nil && len(body) > 0 {
			var env struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if json.Unmarshal(body, &env) == nil {
				msg = env.Error.Message
			}
		}
	}
	s := fmt.Sprintf("%d", re.StatusCode)
	if re.ErrorCode != "" {
		s += " " + re.ErrorCode
	}
	if msg != "" {
		s += ": " + redact(msg)
	}
	return s
}

func statusCode(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}
