/* cmd_serve.c: `touchpoint serve --config serve.yaml`: the HTTP job API (serve.h, docs/serve.md).
 * Blocks SIGINT/SIGTERM in every thread, starts the server, then waits for one of them with
 * sigwait and shuts down gracefully (running jobs finish; queued ones are failed at next start). */
#include "cli.h"
#include "touchpoint/serve.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

const char cmd_serve_summary[] = "run the HTTP job API (lookalike audience extension)";

static const char usage[] =
    "usage: touchpoint serve --config SERVE.yaml [--port N]\n"
    "  --config FILE   listen address and port, data_root, scores, job_db, clusters, top_n,\n"
    "                  extension_pct, workers, job_threads, http_threads, tokens,\n"
    "                  max_body_bytes (docs/serve.md)\n"
    "  --port N        override the config's port (0 = any free port; the port is printed)\n"
    "  -h, --help      this help\n"
    "Stops gracefully on SIGINT or SIGTERM.\n";

int cmd_serve(int argc, char **argv) {
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"port", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int64_t port = -1;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 'p':
            if (!cli_parse_i64(optarg, &port) || port < 0 || port > 65535)
                return cli_usage_error("serve", usage, "--port must be 0..65535");
            break;
        case 'h': return cli_help(usage);
        default: return cli_usage_error("serve", usage, "bad option");
        }
    }
    if (!config) return cli_usage_error("serve", usage, "--config FILE is required");
    if (optind < argc) return cli_usage_error("serve", usage, "unexpected argument '%s'", argv[optind]);

    tp_serve_config *c = NULL;
    if (tp_serve_config_load(config, &c) != TP_OK) return cli_fail();
    if (port >= 0) c->port = (int)port;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); // inherited by every thread started below
    signal(SIGPIPE, SIG_IGN);
    tp_server *s = NULL;
    if (tp_server_start(c, &s) != TP_OK) {
        tp_serve_config_free(c);
        return cli_fail();
    }
    fprintf(stderr, "touchpoint serve: listening on http://%s:%d (data root %s, %s)\n",
            c->listen ? c->listen : "127.0.0.1", tp_server_port(s), c->data_root,
            c->n_tokens ? "bearer tokens required" : "no authentication");
    fflush(stderr);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "touchpoint serve: %s, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    tp_server_stop(s);
    tp_serve_config_free(c);
    fprintf(stderr, "touchpoint serve: stopped\n");
    return 0;
}
