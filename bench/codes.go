package bench

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// CodeLen is the length of the codes AppendCode makes.
const CodeLen = 7

// AppendCode appends the benchmark short code of link i to dst: "b" and six
// base62 digits. The seeder, the baseline and the load generator derive the
// same codes from the same indexes, so nothing has to be shared but a count.
func AppendCode(dst []byte, i int) []byte {
	var buf [CodeLen]byte
	buf[0] = 'b'
	for p := CodeLen - 1; p > 0; p-- {
		buf[p] = base62[i%62]
		i /= 62
	}
	return append(dst, buf[:]...)
}

// Code returns the benchmark short code of link i.
func Code(i int) string { return string(AppendCode(nil, i)) }

// TargetURL returns the URL benchmark link i redirects to.
func TargetURL(i int) string { return "https://example.com/bench/" + Code(i) }
