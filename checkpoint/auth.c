/*
 * auth.c - both ends of the authenticated link (auth.h): the key file,
 * the handshake records, the handshake, and the tag of every record.
 *
 * The handshake, as colo_proto.h draws it:
 *
 *   initiator                                 responder
 *   begin: Ni -- AUTH_HELLO(v, id, Ni) ----->  [wait HELLO]  same id? Nr
 *   [wait CHALLENGE] <-- AUTH_CHALLENGE(id, Nr, Pr) --
 *   Pr right? -- AUTH_PROOF(Pi) ------------>  [wait PROOF]  Pi right?
 *   keys, done                                 keys, done
 *
 * The responder proves first, over a nonce it did not choose alone, so a
 * peer without the key learns nothing it can use: each proof is bound
 * to its direction (its label) and to both fresh nonces. The session
 * keys come from the same three things, one per direction, so a record
 * of one connection, or of the other direction, never verifies on
 * another.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define LOG_PREFIX "auth: "
#include "log.h"
#include "auth.h"

#define LABEL_ID		"colo-auth-v1 key id"
#define LABEL_INITIATOR		"colo-auth-v1 initiator"	/* Pi */
#define LABEL_RESPONDER		"colo-auth-v1 responder"	/* Pr */
#define LABEL_LEN		22	/* both proof labels */
#define INFO_I2R		"colo-auth-v1 initiator->responder"
#define INFO_R2I		"colo-auth-v1 responder->initiator"
#define GCM_IV_LEN		12	/* be32 0, be64 record number */

/* --- the key file ------------------------------------------------------------ */

static int hmac_sha256(const uint8_t key[AUTH_KEY_LEN], const void *data,
		       size_t len, uint8_t out[AUTH_MAC_LEN])
{
	unsigned int olen = 0;

	if (!HMAC(EVP_sha256(), key, AUTH_KEY_LEN, data, len, out, &olen) ||
	    olen != AUTH_MAC_LEN) {
		pr_err("HMAC-SHA256 failed in libcrypto");
		return -EIO;
	}
	return 0;
}

static int key_id(struct auth_key *key)
{
	uint8_t mac[AUTH_MAC_LEN];
	int ret = hmac_sha256(key->bytes, LABEL_ID, strlen(LABEL_ID), mac);

	if (!ret)
		memcpy(key->id, mac, AUTH_KEY_ID_LEN);
	return ret;
}

void auth_key_id_hex(const struct auth_key *key,
		     char out[2 * AUTH_KEY_ID_LEN + 1])
{
	for (int i = 0; i < AUTH_KEY_ID_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", key->id[i]);
}

static int hex_digit(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const char *file_kind(mode_t mode)
{
	return S_ISDIR(mode) ? "directory" : S_ISFIFO(mode) ? "FIFO" :
	       S_ISSOCK(mode) ? "socket" : S_ISCHR(mode) ? "character device" :
	       S_ISBLK(mode) ? "block device" : "special file";
}

/* The key file's mode, owner and kind: 0, or -EPERM / -EINVAL logged. */
static int check_file(const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode)) {
		pr_err("the key file %s is a %s, not a regular file: [security] "
		       "psk_file must name a key made by coloctl genkey", path,
		       file_kind(st->st_mode));
		return -EINVAL;
	}
	if (st->st_mode & 077) {
		pr_err("the key file %s has mode %04o: group or others may "
		       "read or write it, and whoever reads it can write into "
		       "the guest's memory; chmod 600 %s (and make a new key "
		       "with coloctl genkey if others may have read it)", path,
		       (unsigned)(st->st_mode & 07777), path);
		return -EPERM;
	}
	if (st->st_uid != geteuid() && st->st_uid != 0) {
		pr_err("the key file %s belongs to uid %u, neither root nor "
		       "this daemon's user (uid %u): chown it", path,
		       (unsigned)st->st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	return 0;
}

/* The key in the n bytes of a key file at buf. 0, or -EINVAL logged. */
static int parse_key(const char *path, const uint8_t *buf, size_t n,
		     uint8_t key[AUTH_KEY_LEN])
{
	if (n == AUTH_KEY_LEN) {		/* raw */
		memcpy(key, buf, AUTH_KEY_LEN);
		return 0;
	}
	if (n != AUTH_KEY_FILE_HEX &&
	    !(n == AUTH_KEY_FILE_HEX + 1 && buf[AUTH_KEY_FILE_HEX] == '\n')) {
		pr_err("the key file %s is %zu bytes, not a key: a key file "
		       "is %d hex digits and a newline (what coloctl genkey "
		       "writes) or %d raw bytes", path, n, AUTH_KEY_FILE_HEX,
		       AUTH_KEY_LEN);
		return -EINVAL;
	}
	for (int i = 0; i < AUTH_KEY_LEN; i++) {
		int hi = hex_digit(buf[2 * i]), lo = hex_digit(buf[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			pr_err("the key file %s has a byte that is not a hex "
			       "digit at offset %d: a key file is %d hex digits "
			       "and a newline (coloctl genkey makes one)", path,
			       2 * i + (hi < 0 ? 0 : 1), AUTH_KEY_FILE_HEX);
			return -EINVAL;
		}
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int auth_key_load(const char *path, struct auth_key *out)
{
	uint8_t buf[AUTH_KEY_FILE_HEX + 2];
	struct auth_key key;
	struct stat st;
	size_t n = 0;
	int fd, ret;

	memset(&key, 0, sizeof(key));
	/* O_NONBLOCK: a FIFO there must not hang the start */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		pr_err("cannot open the key file %s: %s; make a key with "
		       "'coloctl genkey %s' on one node and copy it (mode 0600) "
		       "to the other, or name the key in [security] psk_file",
		       path, strerror(errno), path);
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		pr_err("cannot stat the key file %s: %s", path, strerror(errno));
		goto out;
	}
	ret = check_file(path, &st);
	if (ret)
		goto out;
	if (st.st_size > (off_t)sizeof(buf) - 1)
		n = sizeof(buf);		/* too long: said below */
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			pr_err("cannot read the key file %s: %s", path,
			       strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == sizeof(buf))
		n = st.st_size > (off_t)n ? (size_t)st.st_size : n;
	ret = parse_key(path, buf, n, key.bytes);
	if (!ret)
		ret = key_id(&key);
	if (!ret) {
		snprintf(key.path, sizeof(key.path), "%s", path);
		*out = key;
	}
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(&key, sizeof(key));
	close(fd);
	return ret;
}

int auth_key_generate(const char *path, struct auth_key *out)
{
	char text[AUTH_KEY_FILE_HEX + 1];
	struct auth_key key;
	size_t done = 0;
	int fd, ret;

	memset(&key, 0, sizeof(key));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		ret = -errno;
		if (errno == EEXIST)
			pr_err("%s exists: refusing to overwrite a key (both "
			       "nodes use it); to replace it, remove it first, "
			       "then give the new key to both nodes and restart "
			       "both daemons", path);
		else
			pr_err("cannot create the key file %s: %s", path,
			       strerror(errno));
		return ret;
	}
	/* exactly 0600, whatever the umask left of it */
	if (fchmod(fd, 0600)) {
		ret = -errno;
		pr_err("cannot chmod 600 %s: %s", path, strerror(errno));
		goto fail;
	}
	if (RAND_bytes(key.bytes, AUTH_KEY_LEN) != 1) {
		ret = -EIO;
		pr_err("no random bytes from libcrypto for a key");
		goto fail;
	}
	for (int i = 0; i < AUTH_KEY_LEN; i++)
		snprintf(text + 2 * i, 3, "%02x", key.bytes[i]);
	text[AUTH_KEY_FILE_HEX] = '\n';
	while (done < sizeof(text)) {
		ssize_t w = write(fd, text + done, sizeof(text) - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ret = w < 0 ? -errno : -EIO;
			pr_err("cannot write the key file %s: %s", path,
			       strerror(-ret));
			goto fail;
		}
		done += (size_t)w;
	}
	if (fsync(fd)) {
		ret = -errno;
		pr_err("cannot write the key file %s to disk: %s", path,
		       strerror(errno));
		goto fail;
	}
	ret = key_id(&key);
	if (ret)
		goto fail;
	close(fd);
	snprintf(key.path, sizeof(key.path), "%s", path);
	if (out)
		*out = key;
	OPENSSL_cleanse(text, sizeof(text));
	OPENSSL_cleanse(&key, sizeof(key));
	return 0;
fail:
	close(fd);
	unlink(path);
	OPENSSL_cleanse(text, sizeof(text));
	OPENSSL_cleanse(&key, sizeof(key));
	return ret;
}

/* --- the handshake records ---------------------------------------------------- */

bool auth_record_type(uint16_t type)
{
	return type >= COLO_AUTH_HELLO && type <= COLO_AUTH_PROOF;
}

static int check_len(uint16_t type, uint32_t len, uint32_t want)
{
	if (len == want)
		return 0;
	pr_err("%s record of %" PRIu32 " bytes, expected %" PRIu32,
	       colo_record_name(type), len, want);
	return -EPROTO;
}

/* A nonce of all zeros is a broken random source, or no nonce at all. */
static int check_nonce(uint16_t type, const uint8_t *nonce)
{
	uint8_t any = 0;

	for (int i = 0; i < AUTH_NONCE_LEN; i++)
		any |= nonce[i];
	if (any)
		return 0;
	pr_err("%s with a nonce of all zeros, expected %d random bytes",
	       colo_record_name(type), AUTH_NONCE_LEN);
	return -EPROTO;
}

void auth_hello_encode(const struct auth_hello *m, uint8_t out[AUTH_HELLO_LEN])
{
	put_be32(out, m->version);
	memcpy(out + 4, m->key_id, AUTH_KEY_ID_LEN);
	memcpy(out + 4 + AUTH_KEY_ID_LEN, m->nonce, AUTH_NONCE_LEN);
}

int auth_hello_decode(const uint8_t *payload, uint32_t len,
		      struct auth_hello *out)
{
	struct auth_hello m;

	if (check_len(COLO_AUTH_HELLO, len, AUTH_HELLO_LEN))
		return -EPROTO;
	m.version = get_be32(payload);
	memcpy(m.key_id, payload + 4, AUTH_KEY_ID_LEN);
	memcpy(m.nonce, payload + 4 + AUTH_KEY_ID_LEN, AUTH_NONCE_LEN);
	if (m.version != AUTH_VERSION) {
		pr_err("AUTH_HELLO of handshake version %" PRIu32 ", expected "
		       "%d: run the same colo on both nodes", m.version,
		       AUTH_VERSION);
		return -EPROTO;
	}
	if (check_nonce(COLO_AUTH_HELLO, m.nonce))
		return -EPROTO;
	*out = m;
	return 0;
}

void auth_challenge_encode(const struct auth_challenge *m,
			   uint8_t out[AUTH_CHALLENGE_LEN])
{
	memcpy(out, m->key_id, AUTH_KEY_ID_LEN);
	memcpy(out + AUTH_KEY_ID_LEN, m->nonce, AUTH_NONCE_LEN);
	memcpy(out + AUTH_KEY_ID_LEN + AUTH_NONCE_LEN, m->proof, AUTH_MAC_LEN);
}

int auth_challenge_decode(const uint8_t *payload, uint32_t len,
			  struct auth_challenge *out)
{
	struct auth_challenge m;

	if (check_len(COLO_AUTH_CHALLENGE, len, AUTH_CHALLENGE_LEN))
		return -EPROTO;
	memcpy(m.key_id, payload, AUTH_KEY_ID_LEN);
	memcpy(m.nonce, payload + AUTH_KEY_ID_LEN, AUTH_NONCE_LEN);
	memcpy(m.proof, payload + AUTH_KEY_ID_LEN + AUTH_NONCE_LEN, AUTH_MAC_LEN);
	if (check_nonce(COLO_AUTH_CHALLENGE, m.nonce))
		return -EPROTO;
	*out = m;
	return 0;
}

void auth_proof_encode(const struct auth_proof *m, uint8_t out[AUTH_PROOF_LEN])
{
	memcpy(out, m->proof, AUTH_MAC_LEN);
}

int auth_proof_decode(const uint8_t *payload, uint32_t len,
		      struct auth_proof *out)
{
	if (check_len(COLO_AUTH_PROOF, len, AUTH_PROOF_LEN))
		return -EPROTO;
	memcpy(out->proof, payload, AUTH_MAC_LEN);
	return 0;
}

/* --- the session --------------------------------------------------------------- */

enum auth_state {
	ST_BEGIN,		/* auth_begin() not called yet */
	ST_WAIT_HELLO,		/* responder */
	ST_WAIT_CHALLENGE,	/* initiator, after its AUTH_HELLO */
	ST_WAIT_PROOF,		/* responder, after its AUTH_CHALLENGE */
	ST_DONE,
};

struct auth_session {
	enum auth_role role;
	enum auth_state state;
	struct auth_key key;		/* wiped once done */
	char peer[64];
	uint8_t nonce_i[AUTH_NONCE_LEN], nonce_r[AUTH_NONCE_LEN];
	/* AES-256-GCM under this direction's key, used as GMAC */
	EVP_CIPHER_CTX *tx, *rx;
	uint64_t tx_seq, rx_seq;	/* the next record's number */
};

struct auth_session *auth_session_new(const struct auth_key *key,
				      enum auth_role role, const char *peer)
{
	struct auth_session *a = calloc(1, sizeof(*a));

	if (!a) {
		pr_err("out of memory for the handshake with %s", peer);
		return NULL;
	}
	a->role = role;
	a->key = *key;
	snprintf(a->peer, sizeof(a->peer), "%s", peer);
	a->tx = EVP_CIPHER_CTX_new();
	a->rx = EVP_CIPHER_CTX_new();
	if (!a->tx || !a->rx ||
	    EVP_EncryptInit_ex(a->tx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_EncryptInit_ex(a->rx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1) {
		pr_err("cannot set up AES-256-GCM in libcrypto for the link "
		       "with %s", peer);
		auth_session_free(a);
		return NULL;
	}
	return a;
}

void auth_session_free(struct auth_session *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->tx);	/* wipes its key schedule */
	EVP_CIPHER_CTX_free(a->rx);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

bool auth_done(const struct auth_session *a)
{
	return a->state == ST_DONE;
}

static uint16_t expected_type(const struct auth_session *a)
{
	switch (a->state) {
	case ST_WAIT_HELLO:
		return COLO_AUTH_HELLO;
	case ST_WAIT_CHALLENGE:
		return COLO_AUTH_CHALLENGE;
	case ST_WAIT_PROOF:
		return COLO_AUTH_PROOF;
	default:
		return 0;
	}
}

const char *auth_expecting(const struct auth_session *a)
{
	uint16_t type = expected_type(a);

	return type ? colo_record_name(type) : "";
}

int auth_begin(struct auth_session *a, struct auth_msg *out)
{
	struct auth_hello h = { .version = AUTH_VERSION };

	out->type = 0;
	out->len = 0;
	if (a->role == AUTH_RESPONDER) {
		a->state = ST_WAIT_HELLO;
		return 0;
	}
	if (RAND_bytes(a->nonce_i, AUTH_NONCE_LEN) != 1) {
		pr_err("no random bytes from libcrypto for a nonce");
		return -EIO;
	}
	memcpy(h.key_id, a->key.id, AUTH_KEY_ID_LEN);
	memcpy(h.nonce, a->nonce_i, AUTH_NONCE_LEN);
	auth_hello_encode(&h, out->payload);
	out->type = COLO_AUTH_HELLO;
	out->len = AUTH_HELLO_LEN;
	a->state = ST_WAIT_CHALLENGE;
	return 0;
}

/* The proof of label (LABEL_INITIATOR or LABEL_RESPONDER) over both
 * nonces. */
static int proof(const struct auth_session *a, const char *label,
		 uint8_t out[AUTH_MAC_LEN])
{
	uint8_t msg[LABEL_LEN + 2 * AUTH_NONCE_LEN];
	int ret;

	memcpy(msg, label, LABEL_LEN);
	memcpy(msg + LABEL_LEN, a->nonce_i, AUTH_NONCE_LEN);
	memcpy(msg + LABEL_LEN + AUTH_NONCE_LEN, a->nonce_r, AUTH_NONCE_LEN);
	ret = hmac_sha256(a->key.bytes, msg, sizeof(msg), out);
	OPENSSL_cleanse(msg, sizeof(msg));
	return ret;
}

/* HKDF-SHA256(key, salt Ni || Nr, info) into out. */
static int hkdf(const struct auth_session *a, const char *info,
		uint8_t out[AUTH_KEY_LEN])
{
	uint8_t salt[2 * AUTH_NONCE_LEN];
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						 (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						  (void *)a->key.bytes,
						  AUTH_KEY_LEN),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt,
						  sizeof(salt)),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						  (void *)info, strlen(info)),
		OSSL_PARAM_construct_end(),
	};
	int ret = 0;

	memcpy(salt, a->nonce_i, AUTH_NONCE_LEN);
	memcpy(salt + AUTH_NONCE_LEN, a->nonce_r, AUTH_NONCE_LEN);
	if (!kctx || EVP_KDF_derive(kctx, out, AUTH_KEY_LEN, params) != 1) {
		pr_err("HKDF-SHA256 failed in libcrypto");
		ret = -EIO;
	}
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ret;
}

/* Both proofs are right: the session keys, the key itself wiped. */
static int finish(struct auth_session *a)
{
	uint8_t i2r[AUTH_KEY_LEN], r2i[AUTH_KEY_LEN];
	bool init = a->role == AUTH_INITIATOR;
	int ret = hkdf(a, INFO_I2R, i2r);

	if (!ret)
		ret = hkdf(a, INFO_R2I, r2i);
	if (!ret && (EVP_EncryptInit_ex(a->tx, NULL, NULL, init ? i2r : r2i,
					NULL) != 1 ||
		     EVP_EncryptInit_ex(a->rx, NULL, NULL, init ? r2i : i2r,
					NULL) != 1)) {
		pr_err("cannot key AES-256-GCM in libcrypto");
		ret = -EIO;
	}
	OPENSSL_cleanse(i2r, sizeof(i2r));
	OPENSSL_cleanse(r2i, sizeof(r2i));
	if (ret)
		return ret;
	OPENSSL_cleanse(a->key.bytes, sizeof(a->key.bytes));
	a->state = ST_DONE;
	return 0;
}

/* What the peer's other record most likely means, for the refusal. */
static const char *why_other(const struct auth_session *a, uint16_t type)
{
	if (a->role == AUTH_RESPONDER &&
	    (type == COLO_HELLO || type == COLO_MIRROR_HELLO))
		return "it has no key ([security] insecure = yes) or runs a "
		       "colo older than protocol 5; give both nodes the same "
		       "[security] psk_file";
	return "it is not in colo's authentication handshake (protocol 5): "
	       "run the same colo on both nodes";
}

static int wrong_key_id(struct auth_session *a, const uint8_t *theirs,
			char *why, size_t wlen)
{
	struct auth_key k;
	char mine[2 * AUTH_KEY_ID_LEN + 1], other[2 * AUTH_KEY_ID_LEN + 1];

	auth_key_id_hex(&a->key, mine);
	memset(&k, 0, sizeof(k));
	memcpy(k.id, theirs, AUTH_KEY_ID_LEN);
	auth_key_id_hex(&k, other);
	snprintf(why, wlen, "the peer at %s has another key (key id %s; ours, "
		 "in %s, is %s): check both nodes use the same psk_file", a->peer,
		 other, a->key.path, mine);
	return -EACCES;
}

static int wrong_proof(struct auth_session *a, char *why, size_t wlen)
{
	snprintf(why, wlen, "the peer at %s does not know the key in %s (its "
		 "proof does not match): check both nodes use the same "
		 "psk_file", a->peer, a->key.path);
	return -EACCES;
}

static int malformed(struct auth_session *a, uint16_t type, char *why,
		     size_t wlen)
{
	snprintf(why, wlen, "the peer at %s sent a malformed %s (the line "
		 "before says how): not colo's handshake", a->peer,
		 colo_record_name(type));
	return -EPROTO;
}

/* Responder: AUTH_HELLO -> AUTH_CHALLENGE. */
static int on_hello(struct auth_session *a, const uint8_t *payload,
		    uint32_t len, struct auth_msg *reply, char *why, size_t wlen)
{
	struct auth_challenge c;
	struct auth_hello h;

	if (auth_hello_decode(payload, len, &h))
		return malformed(a, COLO_AUTH_HELLO, why, wlen);
	if (CRYPTO_memcmp(h.key_id, a->key.id, AUTH_KEY_ID_LEN))
		return wrong_key_id(a, h.key_id, why, wlen);
	memcpy(a->nonce_i, h.nonce, AUTH_NONCE_LEN);
	if (RAND_bytes(a->nonce_r, AUTH_NONCE_LEN) != 1) {
		snprintf(why, wlen, "no random bytes from libcrypto for a "
			 "nonce (the handshake with %s)", a->peer);
		return -EIO;
	}
	memcpy(c.key_id, a->key.id, AUTH_KEY_ID_LEN);
	memcpy(c.nonce, a->nonce_r, AUTH_NONCE_LEN);
	if (proof(a, LABEL_RESPONDER, c.proof)) {
		snprintf(why, wlen, "HMAC failed (the handshake with %s)", a->peer);
		return -EIO;
	}
	auth_challenge_encode(&c, reply->payload);
	reply->type = COLO_AUTH_CHALLENGE;
	reply->len = AUTH_CHALLENGE_LEN;
	a->state = ST_WAIT_PROOF;
	return 0;
}

/* Initiator: AUTH_CHALLENGE -> AUTH_PROOF, done. */
static int on_challenge(struct auth_session *a, const uint8_t *payload,
			uint32_t len, struct auth_msg *reply, char *why,
			size_t wlen)
{
	uint8_t want[AUTH_MAC_LEN];
	struct auth_challenge c;
	struct auth_proof p;

	if (auth_challenge_decode(payload, len, &c))
		return malformed(a, COLO_AUTH_CHALLENGE, why, wlen);
	if (CRYPTO_memcmp(c.key_id, a->key.id, AUTH_KEY_ID_LEN))
		return wrong_key_id(a, c.key_id, why, wlen);
	if (memcmp(c.nonce, a->nonce_i, AUTH_NONCE_LEN) == 0) {
		snprintf(why, wlen, "the peer at %s answered with our own "
			 "nonce: a reflection, not a colo secondary", a->peer);
		return -EACCES;
	}
	memcpy(a->nonce_r, c.nonce, AUTH_NONCE_LEN);
	if (proof(a, LABEL_RESPONDER, want) || proof(a, LABEL_INITIATOR, p.proof)) {
		snprintf(why, wlen, "HMAC failed (the handshake with %s)", a->peer);
		return -EIO;
	}
	if (CRYPTO_memcmp(want, c.proof, AUTH_MAC_LEN))
		return wrong_proof(a, why, wlen);
	if (finish(a)) {
		snprintf(why, wlen, "cannot derive the session keys with %s "
			 "(libcrypto)", a->peer);
		return -EIO;
	}
	auth_proof_encode(&p, reply->payload);
	reply->type = COLO_AUTH_PROOF;
	reply->len = AUTH_PROOF_LEN;
	return 0;
}

/* Responder: AUTH_PROOF, done. */
static int on_proof(struct auth_session *a, const uint8_t *payload,
		    uint32_t len, char *why, size_t wlen)
{
	uint8_t want[AUTH_MAC_LEN];
	struct auth_proof p;

	if (auth_proof_decode(payload, len, &p))
		return malformed(a, COLO_AUTH_PROOF, why, wlen);
	if (proof(a, LABEL_INITIATOR, want)) {
		snprintf(why, wlen, "HMAC failed (the handshake with %s)", a->peer);
		return -EIO;
	}
	if (CRYPTO_memcmp(want, p.proof, AUTH_MAC_LEN))
		return wrong_proof(a, why, wlen);
	if (finish(a)) {
		snprintf(why, wlen, "cannot derive the session keys with %s "
			 "(libcrypto)", a->peer);
		return -EIO;
	}
	return 0;
}

int auth_step(struct auth_session *a, uint16_t type, const uint8_t *payload,
	      uint32_t len, struct auth_msg *reply, char *why, size_t wlen)
{
	uint16_t want = expected_type(a);

	reply->type = 0;
	reply->len = 0;
	if (!want) {
		snprintf(why, wlen, "%s from %s outside the handshake (a "
			 "caller's bug)", colo_record_name(type), a->peer);
		return -EPROTO;
	}
	if (type != want) {
		snprintf(why, wlen, "the peer at %s sent %s before authenticating, "
			 "expected %s: %s", a->peer, colo_record_name(type),
			 colo_record_name(want), why_other(a, type));
		return -EPROTO;
	}
	switch (a->state) {
	case ST_WAIT_HELLO:
		return on_hello(a, payload, len, reply, why, wlen);
	case ST_WAIT_CHALLENGE:
		return on_challenge(a, payload, len, reply, why, wlen);
	default:
		return on_proof(a, payload, len, why, wlen);
	}
}

/* --- the tags ------------------------------------------------------------------- */

/* GMAC of (hdr, iov) as record seq under ctx's key, into tag. */
static int gmac(EVP_CIPHER_CTX *ctx, uint64_t seq,
		const uint8_t hdr[COLO_RECORD_HDR], const struct iovec *iov,
		int n, uint8_t tag[COLO_TAG_LEN])
{
	uint8_t iv[GCM_IV_LEN] = { 0 }, none[16];
	int outl;

	put_be64(iv + 4, seq);
	if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &outl, hdr, COLO_RECORD_HDR) != 1)
		goto fail;
	for (int i = 0; i < n; i++)
		if (iov[i].iov_len && EVP_EncryptUpdate(ctx, NULL, &outl,
							iov[i].iov_base,
							(int)iov[i].iov_len) != 1)
			goto fail;
	if (EVP_EncryptFinal_ex(ctx, none, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, COLO_TAG_LEN,
				tag) != 1)
		goto fail;
	return 0;
fail:
	pr_err("AES-256-GCM failed in libcrypto");
	return -EIO;
}

int auth_seal(struct auth_session *a, const uint8_t hdr[COLO_RECORD_HDR],
	      const struct iovec *iov, int n, uint8_t tag[COLO_TAG_LEN])
{
	int ret = gmac(a->tx, a->tx_seq, hdr, iov, n, tag);

	if (!ret)
		a->tx_seq++;
	return ret;
}

int auth_open(struct auth_session *a, const uint8_t hdr[COLO_RECORD_HDR],
	      const uint8_t *payload, uint32_t len,
	      const uint8_t tag[COLO_TAG_LEN])
{
	struct iovec iov = { (void *)payload, len };
	uint8_t want[COLO_TAG_LEN];
	int ret = gmac(a->rx, a->rx_seq, hdr, &iov, 1, want);

	if (ret)
		return ret;
	if (CRYPTO_memcmp(want, tag, COLO_TAG_LEN))
		return -EBADMSG;
	a->rx_seq++;
	return 0;
}

uint64_t auth_rx_seq(const struct auth_session *a)
{
	return a->rx_seq;
}
