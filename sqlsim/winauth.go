package sqlsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/milink/milink/sqlsim/tds"
	"golang.org/x/crypto/md4" //nolint:staticcheck // NTLM's NT hash is MD4 by definition ([MS-NLMP] 3.3.1)
)

// Windows authentication of the simulated instance: LOGIN7 carries SSPI data (MS-TDS
// 2.2.6.4, fIntSecurity), either an NTLM NEGOTIATE message or a SPNEGO NegTokenInit
// wrapping a Kerberos AP-REQ. Like SQL Server, every failure of the handshake reaches
// the client as error 18452 (the reason is only in the server's log, as error 17806
// "SSPI handshake failed" is), and a Windows account without a login as 18456.

// errUntrusted is what SQL Server sends when the SSPI handshake fails.
func errUntrusted() *tds.Error {
	return &tds.Error{Number: 18452, State: 1, Class: 14, Message: "Login failed. " +
		"The login is from an untrusted domain and cannot be used with Integrated authentication."}
}

// SetKerberos sets (or, with nil, removes) the Kerberos configuration of a running
// instance, e.g. once its port is known and the SPN with it registered.
func (in *Instance) SetKerberos(kc *KerberosConfig) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.opts.Kerberos = kc
}

// windowsLogin authenticates an integrated-security login and returns the login name.
func (in *Instance) windowsLogin(req *tds.LoginRequest) (string, error) {
	var account string
	var err error
	if bytes.HasPrefix(req.SSPI, []byte("NTLMSSP\x00")) {
		account, err = in.ntlmLogin(req)
	} else {
		account, err = in.kerberosLogin(req.SSPI)
	}
	if err != nil {
		in.log.Info("sqlsim: SSPI handshake failed (error 17806)", "reason", err.Error())
		return "", errUntrusted()
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	l := in.loginByNameLocked(account)
	if l == nil || !l.windows {
		return "", &tds.Error{Number: 18456, State: 5, Class: 14, Message: fmt.Sprintf("Login failed for user '%s'.", account)}
	}
	return l.name, nil
}

// kerberosLogin verifies the AP-REQ inside a SPNEGO NegTokenInit (RFC 4178) with the
// service keytab and returns DOMAIN\user for the ticket's client principal.
func (in *Instance) kerberosLogin(tok []byte) (string, error) {
	in.mu.Lock()
	kc := in.opts.Kerberos
	in.mu.Unlock()
	if kc == nil {
		return "", errors.New("Kerberos is not configured (no service keytab): the SPN is not registered for this server")
	}
	var st spnego.SPNEGOToken
	if err := st.Unmarshal(tok); err != nil {
		return "", fmt.Errorf("SSPI data is neither NTLM nor SPNEGO: %w", err)
	}
	if !st.Init {
		return "", errors.New("SPNEGO token is not a NegTokenInit")
	}
	var k5 spnego.KRB5Token
	if err := k5.Unmarshal(st.NegTokenInit.MechTokenBytes); err != nil {
		return "", fmt.Errorf("SPNEGO mechanism token is not Kerberos: %w", err)
	}
	if !k5.IsAPReq() {
		return "", errors.New("Kerberos token is not an AP-REQ")
	}
	kt := &keytab.Keytab{}
	if err := kt.Unmarshal(kc.Keytab); err != nil {
		return "", fmt.Errorf("service keytab: %w", err)
	}
	spn, _, _ := strings.Cut(kc.SPN, "@")
	settings := service.NewSettings(kt, service.KeytabPrincipal(spn), service.DecodePAC(false))
	ok, creds, err := service.VerifyAPREQ(&k5.APReq, settings)
	if err != nil {
		return "", fmt.Errorf("AP-REQ for %s rejected: %w", k5.APReq.Ticket.SName.PrincipalNameString(), err)
	}
	if !ok {
		return "", errors.New("AP-REQ rejected")
	}
	dom := kc.Domain
	if dom == "" {
		dom, _, _ = strings.Cut(creds.Domain(), ".")
	}
	return strings.ToUpper(dom) + `\` + creds.UserName(), nil
}

// NTLM ([MS-NLMP]) message types and the flags the CHALLENGE sets.
const (
	ntlmNegotiateUnicode  = 0x00000001
	ntlmRequestTarget     = 0x00000004
	ntlmNegotiateNTLM     = 0x00000200
	ntlmAlwaysSign        = 0x00008000
	ntlmTargetTypeDomain  = 0x00010000
	ntlmExtendedSecurity  = 0x00080000
	ntlmNegotiateTargetIn = 0x00800000
)

// ntlmLogin runs NTLM: it answers the NEGOTIATE with a CHALLENGE ([MS-NLMP] 2.2.1.2)
// and checks the AUTHENTICATE's NTLMv2 response against the Windows login's password.
func (in *Instance) ntlmLogin(req *tds.LoginRequest) (string, error) {
	if len(req.SSPI) < 12 || binary.LittleEndian.Uint32(req.SSPI[8:]) != 1 {
		return "", errors.New("NTLM: the first message is not a NEGOTIATE")
	}
	dom := in.opts.NTLMDomain
	if dom == "" {
		dom = "CONTOSO"
	}
	var challenge [8]byte
	if _, err := rand.Read(challenge[:]); err != nil {
		return "", err
	}
	auth, err := req.SSPIExchange(ntlmChallenge(challenge, dom, in.opts.ServerName))
	if err != nil {
		return "", err
	}
	user, userDom, ntResp, err := parseNTLMAuthenticate(auth)
	if err != nil {
		return "", err
	}
	account := userDom + `\` + user
	in.mu.Lock()
	l := in.loginByNameLocked(account)
	var password string
	known := l != nil && l.windows && l.password != ""
	if known {
		password = l.password
	}
	in.mu.Unlock()
	if !known {
		return "", fmt.Errorf("NTLM: the domain has no account %s with a password", account)
	}
	if !VerifyNTLMv2(ntResp, challenge, user, userDom, password) {
		return "", fmt.Errorf("NTLM: wrong password for %s (NTLMv2 response does not match)", account)
	}
	return account, nil
}

// ntlmChallenge builds a CHALLENGE_MESSAGE ([MS-NLMP] 2.2.1.2) with NTLMv2 target
// information (MsvAvNbDomainName, MsvAvNbComputerName, MsvAvEOL; 2.2.2.1).
func ntlmChallenge(challenge [8]byte, domain, computer string) []byte {
	le := binary.LittleEndian
	target := ucs2(domain)
	var info []byte
	for _, av := range []struct {
		id uint16
		v  []byte
	}{{2, ucs2(domain)}, {1, ucs2(computer)}, {0, nil}} {
		info = le.AppendUint16(info, av.id)
		info = le.AppendUint16(info, uint16(len(av.v)))
		info = append(info, av.v...)
	}
	const head = 56
	m := make([]byte, head, head+len(target)+len(info))
	copy(m, "NTLMSSP\x00")
	le.PutUint32(m[8:], 2)
	le.PutUint16(m[12:], uint16(len(target)))
	le.PutUint16(m[14:], uint16(len(target)))
	le.PutUint32(m[16:], head)
	le.PutUint32(m[20:], ntlmNegotiateUnicode|ntlmRequestTarget|ntlmNegotiateNTLM|ntlmAlwaysSign|
		ntlmTargetTypeDomain|ntlmExtendedSecurity|ntlmNegotiateTargetIn)
	copy(m[24:], challenge[:])
	le.PutUint16(m[40:], uint16(len(info)))
	le.PutUint16(m[42:], uint16(len(info)))
	le.PutUint32(m[44:], uint32(head+len(target)))
	m = append(m, target...)
	return append(m, info...)
}

// parseNTLMAuthenticate reads user, domain and NtChallengeResponse from an
// AUTHENTICATE_MESSAGE ([MS-NLMP] 2.2.1.3; Unicode strings).
func parseNTLMAuthenticate(m []byte) (user, domain string, nt []byte, err error) {
	le := binary.LittleEndian
	if len(m) < 64 || !bytes.HasPrefix(m, []byte("NTLMSSP\x00")) || le.Uint32(m[8:]) != 3 {
		return "", "", nil, errors.New("NTLM: the answer is not an AUTHENTICATE message")
	}
	field := func(pos int) ([]byte, error) {
		n, off := int(le.Uint16(m[pos:])), int(le.Uint32(m[pos+4:]))
		if off > len(m) || n > len(m)-off {
			return nil, errors.New("NTLM: AUTHENTICATE field points outside the message")
		}
		return m[off : off+n], nil
	}
	if nt, err = field(20); err != nil {
		return
	}
	d, err := field(28)
	if err != nil {
		return
	}
	u, err := field(36)
	if err != nil {
		return
	}
	return fromUCS2(u), fromUCS2(d), nt, nil
}

// VerifyNTLMv2 checks an NTLMv2 NtChallengeResponse as [MS-NLMP] 3.3.2 defines it:
//
//	ResponseKeyNT = NTOWFv2(Passwd, User, UserDom)
//	  = HMAC_MD5(MD4(UNICODE(Passwd)), UNICODE(ConcatenationOf(Uppercase(User), UserDom)))
//	temp = the NTLMv2_CLIENT_CHALLENGE (Resp­Type 1, HiRespType 1, …, AvPairs)
//	NTProofStr = HMAC_MD5(ResponseKeyNT, ConcatenationOf(ServerChallenge, temp))
//	NtChallengeResponse = ConcatenationOf(NTProofStr, temp)
//
// so the server recomputes NTProofStr from the password it knows and compares.
func VerifyNTLMv2(ntResp []byte, serverChallenge [8]byte, user, userDom, password string) bool {
	if len(ntResp) < 16+28 || ntResp[16] != 1 || ntResp[17] != 1 {
		return false // shorter than NTProofStr + the fixed part of NTLMv2_CLIENT_CHALLENGE, or NTLMv1
	}
	h := md4.New()
	h.Write(ucs2(password))
	keyNT := hmacMD5(h.Sum(nil), ucs2(strings.ToUpper(user)+userDom))
	proof := hmacMD5(keyNT, append(serverChallenge[:], ntResp[16:]...))
	return hmac.Equal(proof, ntResp[:16])
}

func hmacMD5(key, data []byte) []byte {
	m := hmac.New(md5.New, key)
	m.Write(data)
	return m.Sum(nil)
}

func ucs2(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

func fromUCS2(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
