/*
 * keygen — `alert keygen`; see keygen.h.
 */
#include "keygen.h"

#include "cli.h"
#include "itemsig.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char keygen_help[] =
    "Usage: alert keygen FILE\n"
    "Makes an Ed25519 key pair for signing alerts: the private key in FILE (PEM,\n"
    "PKCS#8, mode 0600) and the public key in FILE.pub (PEM). Refuses to overwrite\n"
    "either. Prints, one per line:\n"
    "  kid=<key id>          what signed alerts carry in \"kid\"\n"
    "  public_key=<base64url> the raw public key, for a page's data-verify-keys\n"
    "Publishers sign with FILE (alert push --help), readers verify with FILE.pub\n"
    "(alert tail --help).\n\n"
    "  -h, --help             this help;  --version  the version\n\n"
    "Exit status: 0 written, 1 a file could not be written, 2 usage error (a file\n"
    "already exists).\n";

/* One file created here, so that a failure removes it. */
struct keygen_file {
    const char *path;
    FILE *f;
};

/* Creates path (never an existing one) with `mode`; 0, or -1 with a
 * message printed and *status set. */
static int keygen_create(struct keygen_file *kf, const char *path, mode_t mode, int *status)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    kf->path = NULL;
    if (fd < 0) {
        *status = errno == EEXIST ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
        cli_error("keygen: %s: %s", path,
                  errno == EEXIST ? "already exists; refusing to overwrite a key"
                                  : strerror(errno));
        return -1;
    }
    kf->path = path;
    if (fchmod(fd, mode) != 0 || (kf->f = fdopen(fd, "w")) == NULL) {
        *status = CLI_EXIT_FAIL;
        cli_error("keygen: %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return 0;
}

/* Closes the file that `written` (PEM_write_*'s result) went to; a
 * failure to write it is reported. 0 or -1. */
static int keygen_close(struct keygen_file *kf, int written)
{
    int rc = written == 1 && fflush(kf->f) == 0 && fsync(fileno(kf->f)) == 0 ? 0 : -1;
    int saved = errno;
    if (fclose(kf->f) != 0 && rc == 0)
        rc = -1, saved = errno;
    kf->f = NULL;
    if (rc != 0)
        cli_error("keygen: %s: cannot write it: %s", kf->path,
                  saved ? strerror(saved) : "OpenSSL could not encode the key");
    return rc;
}

/* Writes both files and prints the key's id and raw public key. */
static int keygen_write(EVP_PKEY *key, const char *path, const char *pub_path)
{
    struct keygen_file priv = {0}, pub = {0};
    char kid[ITEM_KID_LEN + 1], raw[ITEMSIG_RAW_LEN + 1];
    int status = CLI_EXIT_OK;

    if (itemsig_key_id(key, kid) != 0 || itemsig_raw_public(key, raw) != 0) {
        cli_error("keygen: the new key has no public key");
        return CLI_EXIT_FAIL;
    }
    if (keygen_create(&priv, path, 0600, &status) != 0 ||
        keygen_create(&pub, pub_path, 0644, &status) != 0)
        goto fail;
    errno = 0;
    int ok = keygen_close(&priv, PEM_write_PrivateKey(priv.f, key, NULL, NULL, 0, NULL, NULL));
    errno = 0;
    if (keygen_close(&pub, PEM_write_PUBKEY(pub.f, key)) != 0 || ok != 0) {
        status = CLI_EXIT_FAIL;
        goto fail;
    }
    printf("kid=%s\npublic_key=%s\n", kid, raw);
    return cli_flush_stdout(CLI_EXIT_OK);
fail:
    if (priv.f)
        fclose(priv.f);
    if (pub.f)
        fclose(pub.f);
    if (priv.path)
        unlink(priv.path);
    if (pub.path)
        unlink(pub.path);
    return status;
}

int keygen_cmd(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
    struct cli_common common;
    char pub_path[PATH_MAX];
    int opt, status;

    cli_common_init(&common, argv[0]);
    const char *shortopts = cli_getopt_begin("h");
    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
        if (!cli_common_option(&common, opt, optarg))
            return cli_getopt_error(common.cmd, opt, argv);
    if ((status = cli_common_finish(&common, keygen_help)) >= 0)
        return status;
    if (argc - optind < 1)
        return cli_usage(common.cmd, "missing the FILE to write the key to");
    if (argc - optind > 1)
        return cli_usage(common.cmd, "unexpected argument '%s'", argv[optind + 1]);
    const char *path = argv[optind];
    if (*path == '\0' || snprintf(pub_path, sizeof(pub_path), "%s.pub", path) >= PATH_MAX)
        return cli_usage(common.cmd, "FILE must be a path (at most %d bytes)", PATH_MAX - 5);

    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (key == NULL) {
        cli_error("keygen: OpenSSL could not make an Ed25519 key");
        return CLI_EXIT_FAIL;
    }
    status = keygen_write(key, path, pub_path);
    EVP_PKEY_free(key);
    return status;
}
