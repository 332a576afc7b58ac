package steps

// SetSSH sets how the network test reaches the SQL Server host over SSH (ProbeSSH),
// as a front-end's fields give it; the next Run or RerunNetwork uses it. Nothing
// connects until then.
func (s *Session) SetSSH(c SSHConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.SSH = c
}
