package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Variables of the CSV uploads.
const (
	EnvUploadMax      = "SIMPLESENDER_UPLOAD_MAX"
	EnvUploadTotalMax = "SIMPLESENDER_UPLOAD_TOTAL_MAX"
)

// uploadLimits reads the largest upload and the room for all uploads
// waiting or being imported together. The second is at least the first.
func uploadLimits(get func(k, def string) string) (maxFile, maxTotal int64, err error) {
	if maxFile, err = parseSize(get(EnvUploadMax, "50MiB")); err != nil || maxFile < 1<<10 {
		return 0, 0, fmt.Errorf("%s: want a size of at least 1KiB, such as 50MiB", EnvUploadMax)
	}
	if maxTotal, err = parseSize(get(EnvUploadTotalMax, "1GiB")); err != nil || maxTotal < maxFile {
		return 0, 0, fmt.Errorf("%s: want a size no smaller than %s, such as 1GiB", EnvUploadTotalMax, EnvUploadMax)
	}
	return maxFile, maxTotal, nil
}

// parseSize reads a number of bytes with an optional unit: B, KiB, MiB or
// GiB (K, KB, M, MB, G and GB mean the same powers of 1024), in any case.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: not a number", s)
	}
	shift := map[string]uint{"": 0, "b": 0, "k": 10, "kb": 10, "kib": 10, "m": 20, "mb": 20, "mib": 20, "g": 30, "gb": 30, "gib": 30}
	sh, ok := shift[unit]
	if !ok || n > (1<<62)>>sh {
		return 0, fmt.Errorf("size %q: unknown unit or too large", s)
	}
	return n << sh, nil
}
