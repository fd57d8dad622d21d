/* test_pipeline.c: the pipeline's YAML config: defaults, every key and its forms (split as 1, a
 * list or a string; methods as a list or a comma string), and the errors a user meets first:
 * unknown keys and wrong types named with their line, YAML syntax errors, missing keys.
 * The runs themselves (resume, failed step) are in tests/pipeline_smoke.sh. */
#include "test.h"
#include "touchpoint/pipeline.h"
#include "attribution/pipeline_model.h"

static tp_status parse(const char *yaml, tp_pipeline_config **c) {
    *c = NULL;
    return tp_pipeline_config_parse(yaml, strlen(yaml), "p.yaml", c);
}

static void test_defaults_and_keys(void) {
    tp_pipeline_config *c = NULL;
    CHECK_OK(parse("output: out\ninput: imp.parquet\n", &c));
    if (c) {
        CHECK_STR(c->output, "out");
        CHECK_STR(c->input, "imp.parquet");
        CHECK(c->journey_max_len == 10 && c->n_split == 1 && c->seed == 42);
        CHECK(c->n_methods == 1);
        CHECK_STR(c->methods[0], "all");
        CHECK(c->per_touch && !c->simulate && c->truth == NULL);
        CHECK_CLOSE(c->half_life_days, 7, 0);
        CHECK(c->markov_order == 1);
    }
    tp_pipeline_config_free(c);

    CHECK_OK(parse("# a comment\n"
                   "input: data/i.parquet\n"
                   "output: 'out dir'\n"
                   "journey_max_len: 20\n"
                   "split: [0.8, 0.1, 0.1]\n"
                   "seed: 7\n"
                   "lookback_days: 30.5\n"
                   "methods: [last, markov, time-decay]\n"
                   "half_life_days: 3\n"
                   "markov_order: 2\n"
                   "per_touch: false\n"
                   "truth: t.json\n"
                   "title: My <report>\n"
                   "simulate:\n  users: 500\n  campaigns: 7\n  days: 9\n  seed: 3\n",
                   &c));
    if (c) {
        CHECK_STR(c->output, "out dir");
        CHECK(c->journey_max_len == 20 && c->n_split == 3 && c->seed == 7);
        CHECK_CLOSE(c->split[0], 0.8, 0);
        CHECK_CLOSE(c->split[2], 0.1, 0);
        CHECK_CLOSE(c->lookback_days, 30.5, 0);
        CHECK(c->n_methods == 3);
        if (c->n_methods == 3) CHECK_STR(c->methods[2], "time-decay");
        CHECK_CLOSE(c->half_life_days, 3, 0);
        CHECK(c->markov_order == 2 && !c->per_touch);
        CHECK_STR(c->truth, "t.json");
        CHECK_STR(c->title, "My <report>");
        CHECK(c->simulate && c->sim_users == 500 && c->sim_campaigns == 7 && c->sim_days == 9 &&
              c->sim_seed == 3);
    }
    tp_pipeline_config_free(c);

    /* other forms: split as a string, methods as a comma list, simulate without input */
    CHECK_OK(parse("output: o\nsplit: \"0.7,0.2,0.1\"\nmethods: last, first\nsimulate: {}\n"
                   "truth: ~\n",
                   &c));
    if (c) {
        CHECK(c->n_split == 3);
        CHECK_CLOSE(c->split[1], 0.2, 0);
        CHECK(c->n_methods == 2);
        if (c->n_methods == 2) CHECK_STR(c->methods[1], "first");
        CHECK(c->simulate && c->sim_users == 10000 && c->input == NULL && c->truth == NULL);
    }
    tp_pipeline_config_free(c);
    CHECK_OK(parse("output: o\ninput: i\nsplit: 1\n", &c));
    if (c) CHECK(c->n_split == 1);
    tp_pipeline_config_free(c);
}

static void test_errors(void) {
    tp_pipeline_config *c = NULL;
    CHECK_STATUS(parse("output: o\ninput: i\nmetods: [last]\n", &c), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "p.yaml") && strstr(tp_last_error(), "line 3") &&
          strstr(tp_last_error(), "'metods'"));
    CHECK(c == NULL);
    CHECK_STATUS(parse("output: o\ninput: i\nsimulate:\n  users: 5\n  dayz: 3\n", &c),
                 TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "line 5") && strstr(tp_last_error(), "simulate.dayz"));
    CHECK_STATUS(parse("output: o\ninput: i\njourney_max_len: ten\n", &c), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "line 3") && strstr(tp_last_error(), "journey_max_len") &&
          strstr(tp_last_error(), "'ten'"));
    CHECK_STATUS(parse("output: o\ninput: i\njourney_max_len: 0\n", &c), TP_ERR_FORMAT);
    CHECK_STATUS(parse("output: o\ninput: i\nmarkov_order: 5\n", &c), TP_ERR_FORMAT);
    CHECK_STATUS(parse("output: o\ninput: i\nsplit: [0.5, 0.5]\n", &c), TP_ERR_FORMAT);
    CHECK_STATUS(parse("output: o\ninput: i\nsplit: 0.8;0.2\n", &c), TP_ERR_FORMAT);
    CHECK_STATUS(parse("output: o\ninput: i\nper_touch: maybe\n", &c), TP_ERR_FORMAT);
    CHECK_STATUS(parse("output: o\ninput: i\nhalf_life_days: 0\n", &c), TP_ERR_FORMAT);
    CHECK_STATUS(parse("output: o\ninput: i\nmethods: []\n", &c), TP_ERR_FORMAT);
    CHECK_STATUS(parse("output: o\ninput: i\ninput: j\n", &c), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "twice") && strstr(tp_last_error(), "line 3"));
    CHECK_STATUS(parse("output: o\n", &c), TP_ERR_FORMAT); /* no input, no simulate */
    CHECK(strstr(tp_last_error(), "input") != NULL);
    CHECK_STATUS(parse("input: i\n", &c), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "output") != NULL);
    CHECK_STATUS(parse("- a\n- b\n", &c), TP_ERR_FORMAT);
    CHECK_STATUS(parse("", &c), TP_ERR_FORMAT);
    CHECK_STATUS(parse("output: o\ninput: [unclosed\n", &c), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "p.yaml") && strstr(tp_last_error(), "line"));
    CHECK_STATUS(tp_pipeline_config_read(tp_test_path("missing.yaml"), &c), TP_ERR_IO);

    /* from a file */
    const char *path = tp_test_path("p.yaml");
    FILE *fp = fopen(path, "w");
    fputs("output: o\ninput: i\nmethods: [shapley]\n", fp);
    fclose(fp);
    CHECK_OK(tp_pipeline_config_read(path, &c));
    if (c) CHECK(c->n_methods == 1 && strcmp(c->methods[0], "shapley") == 0);
    tp_pipeline_config_free(c);
}

/* The model: block (attribution/pipeline_model.c): true or a mapping; keys named model.<key>. */
static void test_model_block(void) {
    tp_pipeline_config *c = NULL;
    CHECK_OK(parse("output: o\ninput: i\nmodel: yes\n", &c));
    CHECK(c && c->model && c->model->n_controls == 0);
    tp_pipeline_config_free(c);
    CHECK_OK(parse("output: o\ninput: i\nmodel:\n  epochs: 3\n  controls: [age, region]\n"
                   "  time_decay: off\n  search: random\n",
                   &c));
    if (c && c->model) {
        CHECK(c->model->o.epochs == 3 && !c->model->o.time_decay);
        CHECK(c->model->o.search == TP_SEARCH_RANDOM);
        CHECK(c->model->n_controls == 2);
        if (c->model->n_controls == 2) CHECK_STR(c->model->controls[1], "region");
    }
    tp_pipeline_config_free(c);
    CHECK_OK(parse("output: o\ninput: i\nmodel: {controls: age}\n", &c));
    if (c && c->model) CHECK(c->model->n_controls == 1 && !strcmp(c->model->controls[0], "age"));
    tp_pipeline_config_free(c);
    CHECK_STATUS(parse("output: o\ninput: i\nmodel:\n  epochs: 0\n", &c), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "pipeline config 'p.yaml', line 4: key 'model.epochs' wants a number "
                               "from 1 to 100000, not '0'");
    CHECK_STATUS(parse("output: o\ninput: i\nmodel:\n  epochs: 2\n  epoch: 3\n", &c), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "line 5: unknown key 'model.epoch'") != NULL);
    CHECK_STATUS(parse("output: o\ninput: i\nmodel: false\n", &c), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "line 3: key 'model' wants a mapping") != NULL);
    CHECK_STATUS(parse("output: o\ninput: i\nmodel:\n  controls: [a, [b]]\n", &c), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "line 4: key 'model.controls' wants a list of plain values") != NULL);
    CHECK(c == NULL);
}

void suite_pipeline(void) {
    test_defaults_and_keys();
    test_errors();
    test_model_block();
}
