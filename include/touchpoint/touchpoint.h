/* touchpoint.h: the whole public API of libtouchpoint. */
#ifndef TOUCHPOINT_H
#define TOUCHPOINT_H

#include "touchpoint/core.h"
#include "touchpoint/table.h"
#include "touchpoint/parquet.h"
#include "touchpoint/csv.h"
#include "touchpoint/io.h"
#include "touchpoint/journeys.h"
#include "touchpoint/simulate.h"
#include "touchpoint/journey_build.h"
#include "touchpoint/attribution.h"
#include "touchpoint/features.h"
#include "touchpoint/events_sim.h"
#include "touchpoint/report.h"
#include "touchpoint/pipeline.h"
#include "touchpoint/metrics.h"
#include "touchpoint/dnamta.h"
#include "touchpoint/dnamta_train.h"
#include "touchpoint/lookalike.h"
#include "touchpoint/audience.h"
#include "touchpoint/serve.h"
#include "touchpoint/counterfactual.h"

TP_API const char *tp_version(void);

#endif
