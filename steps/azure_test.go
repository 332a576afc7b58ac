package steps_test

import (
	"reflect"
	"testing"

	"github.com/milink/milink/azureops"
	"github.com/milink/milink/steps"
)

// TestAzureInfoOf: azureops' findings become the "Azure" server's findings with the
// same severities, fixes and allowlist.
func TestAzureInfoOf(t *testing.T) {
	in := azureops.Info{
		Cloud:     "AzureCloud",
		Allowlist: []azureops.AllowlistEntry{{Name: "Managed instance", URL: "mi.example:5022", Host: "mi.example", Why: "the link"}},
		Findings: []azureops.Finding{
			{ID: "cloud", Severity: azureops.SeverityPass, Title: "in AzureCloud"},
			{ID: "nsg:inbound-5022", Severity: azureops.SeverityFail, Title: "blocked", Detail: "why", Fixes: []azureops.Fix{{Platform: "Azure", Command: "az network nsg rule create"}}},
		},
	}
	want := steps.AzureInfo{
		Cloud:     "AzureCloud",
		Allowlist: []steps.AllowlistItem{{Name: "Managed instance", URL: "mi.example:5022", Why: "the link"}},
		Findings: []steps.Finding{
			{ID: "cloud", Server: "Azure", Severity: steps.Pass, Title: "in AzureCloud"},
			{ID: "nsg:inbound-5022", Server: "Azure", Severity: steps.Fail, Title: "blocked", Detail: "why", Fixes: []steps.Fix{{Platform: "Azure", Command: "az network nsg rule create"}}},
		},
	}
	if got := steps.AzureInfoOf(in); !reflect.DeepEqual(got, want) {
		t.Errorf("AzureInfoOf:\n got %+v\nwant %+v", got, want)
	}
	for _, s := range []azureops.Severity{azureops.SeverityPass, azureops.SeverityInfo, azureops.SeverityWarn, azureops.SeverityFail} {
		f := steps.AzureInfoOf(azureops.Info{Findings: []azureops.Finding{{Severity: s}}}).Findings[0]
		if string(f.Severity) != string(s) || (s != azureops.SeverityPass && f.Severity.Rank() == 0) {
			t.Errorf("severity %s became %s (rank %d)", s, f.Severity, f.Severity.Rank())
		}
	}
}
