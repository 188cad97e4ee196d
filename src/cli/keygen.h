/*
 * keygen — `alert keygen FILE`: makes an Ed25519 key pair for signing
 * alerts, the private key in FILE (PKCS#8 PEM, mode 0600) and the public
 * key in FILE.pub (SubjectPublicKeyInfo PEM), and prints the key id and
 * the raw public key a web page pins. Never overwrites a file.
 *
 * Takes the subcommand's argv (argv[0] is its name) and returns the exit
 * status (cli.h).
 */
#ifndef ALERT_KEYGEN_H
#define ALERT_KEYGEN_H

int keygen_cmd(int argc, char **argv);

#endif
