package apptest

import (
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

func decode(m *mail.Message, path string) (Email, error) {
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return Email{}, err
	}
	to := ""
	if addrs, err := m.Header.AddressList("To"); err == nil && len(addrs) > 0 {
		to = addrs[0].Address
	}
	body, err := textBody(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	if err != nil {
		return Email{}, err
	}
	return Email{To: to, Subject: subject, Body: body, Path: path}, nil
}

func textBody(contentType, cte string, r io.Reader) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
				return textBody(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			}
		}
	}
	switch {
	case strings.EqualFold(cte, "quoted-printable"):
		r = quotedprintable.NewReader(r)
	case strings.EqualFold(cte, "base64"):
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	return string(b), err
}
