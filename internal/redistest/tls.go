package redistest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// TLSFiles are the PEM files of a test CA, a server certificate for
// 127.0.0.1 and localhost, and a client certificate, all signed by the CA.
type TLSFiles struct {
	// Dir is the directory the files are in.
	Dir string
	// CA is the certificate of the CA that signed the other two.
	CA string
	// ServerCert and ServerKey are for 127.0.0.1 and localhost.
	ServerCert, ServerKey string
	// ClientCert and ClientKey authenticate a client to a server that
	// requires client certificates.
	ClientCert, ClientKey string
}

// tlsConf holds the X.509 extensions, in OpenSSL's config syntax. Go's
// crypto/tls checks the extended key usage both ways: serverAuth on the
// server's certificate, clientAuth on the client's.
const tlsConf = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`

// GenerateTLS writes into dir, which the caller owns (t.TempDir() is a
// good one), a CA, a server and a client certificate, with EC P-256 keys
// and one day of validity, made with openssl.
func GenerateTLS(dir string) (*TLSFiles, error) {
	f := &TLSFiles{
		Dir:        dir,
		CA:         filepath.Join(dir, "ca.crt"),
		ServerCert: filepath.Join(dir, "server.crt"),
		ServerKey:  filepath.Join(dir, "server.key"),
		ClientCert: filepath.Join(dir, "client.crt"),
		ClientKey:  filepath.Join(dir, "client.key"),
	}
	conf := filepath.Join(dir, "openssl.cnf")
	// Our own config, not the system's, so that no default extensions are
	// added.
	if err := os.WriteFile(conf, []byte(tlsConf), 0o600); err != nil {
		return nil, err
	}
	caKey := filepath.Join(dir, "ca.key")
	steps := [][]string{
		newKey(caKey),
		{"req", "-x509", "-new", "-key", caKey, "-sha256", "-days", "1", "-subj", "/CN=redistest CA",
			"-config", conf, "-extensions", "ca", "-out", f.CA},
		newKey(f.ServerKey),
		newKey(f.ClientKey),
	}
	steps = append(steps, sign(conf, f, "server", "/CN=localhost", f.ServerKey, f.ServerCert, 2)...)
	steps = append(steps, sign(conf, f, "client", "/CN=redistest client", f.ClientKey, f.ClientCert, 3)...)
	for _, args := range steps {
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("openssl %v: %v\n%s", args, err, out)
		}
	}
	return f, nil
}

func newKey(path string) []string {
	return []string{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path}
}

// sign returns the openssl steps that make a certificate for key, signed
// by the CA, with the extensions of section ext in conf.
func sign(conf string, f *TLSFiles, ext, subject, key, cert string, serial int) [][]string {
	csr := cert + ".csr"
	return [][]string{
		{"req", "-new", "-key", key, "-subj", subject, "-config", conf, "-out", csr},
		{"x509", "-req", "-in", csr, "-CA", f.CA, "-CAkey", filepath.Join(f.Dir, "ca.key"),
			"-set_serial", strconv.Itoa(serial), "-days", "1", "-sha256",
			"-extfile", conf, "-extensions", ext, "-out", cert},
	}
}

// ClientConfig returns a TLS configuration that trusts the CA and, when
// withCert is set, presents the client certificate.
func (f *TLSFiles) ClientConfig(withCert bool) (*tls.Config, error) {
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", f.CA)
	}
	c := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if withCert {
		cert, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// StartTLS starts a redis-server that speaks only TLS, with the server
// certificate of files, on a free loopback port, with the extra arguments,
// and waits until it answers PING over TLS. With requireClientCert it
// refuses clients without a certificate signed by the CA. Addr is the TLS
// port; Client connects with TLS, and with the client certificate when it
// is required. Stop it with Stop.
func StartTLS(files *TLSFiles, requireClientCert bool, extra ...string) (*Server, error) {
	conf, err := files.ClientConfig(requireClientCert)
	if err != nil {
		return nil, err
	}
	dir, err := newDir()
	if err != nil {
		return nil, err
	}
	authClients := "no"
	if requireClientCert {
		authClients = "yes"
	}
	s := &Server{dir: dir, password: requirepass(extra), tls: conf}
	err = s.launch(func(port int) ([]string, error) {
		args := append([]string{"--port", "0", // no plain TCP
			"--tls-port", strconv.Itoa(port)}, baseArgs(dir)...)
		args = append(args,
			"--tls-cert-file", files.ServerCert,
			"--tls-key-file", files.ServerKey,
			"--tls-ca-cert-file", files.CA,
			"--tls-auth-clients", authClients)
		return append(args, extra...), nil
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}
