/* version — the release both programs report with --version. */
#ifndef ALERT_VERSION_H
#define ALERT_VERSION_H

#define ALERT_VERSION "0.1.0"

#endif
