package steps

// Introduction is the wizard's first page: what milink will create on each side and
// that it removes all of it afterwards.
type Introduction struct {
	Creates []Action `json:"creates"`
	Notes   []string `json:"notes"`
}

// NewIntroduction describes the run before anything is known about the servers.
func NewIntroduction() Introduction {
	return Introduction{
		Creates: []Action{
			{Server: serverSQL, Description: "Agent job " + SQLJobName, Detail: "one PowerShell step probes the managed instance on 5022, on its HADR port and on 3 more ports of 11000-11999, all at once"},
			{Server: serverSQL, Description: "Certificate " + CertName + " and endpoint " + EndpointName + " on port 5022", Detail: "only when no database mirroring endpoint exists; an existing one is reused, never changed"},
			{Server: serverMI, Description: "Agent job " + MIJobName, Detail: "one PowerShell step probes SQL Server on the endpoint port"},
		},
		Notes: []string{
			"Everything milink creates has a name milink uses and a mark only this machine's milink key can make; it is removed at the end (on success, on failure, on Ctrl-C and after lost connections) and read back as gone.",
			"Objects milink did not create are never changed or dropped; name clashes get a _milink_ suffix instead.",
			"Nothing is created before the Summary page is confirmed.",
		},
	}
}
