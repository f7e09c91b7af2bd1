// Type-checked (never run) against the types openapi-typescript generates from
// openapi/openapi.yaml: what an integrator writes must compile, and what the contract forbids
// must not (each @ts-expect-error fails the check if the line stops being an error).
import type { components, operations } from "./sen";

type Schemas = components["schemas"];

// A batch item is typed: a field left out is left unchanged, a wrong type is refused.
const item: Schemas["PupilBatchItem"] = { upn: "A801200000011", year_group: "6" };
const batch: Schemas["PupilBatch"] = { items: [item] };
// @ts-expect-error pupil_premium is a boolean, not a string
const wrongItem: Schemas["PupilBatchItem"] = { upn: "A801200000011", pupil_premium: "no" };

// Idempotency-Key is a declared header of the batch upsert.
type BatchHeaders = NonNullable<operations["batch_upsert_pupils"]["parameters"]["header"]>;
const batchHeaders: BatchHeaders = { "Idempotency-Key": "sync-2026-12-04" };

// The feed's next_cursor feeds straight into `after`.
declare const page: Schemas["EventPage"];
type FeedQuery = NonNullable<operations["list_events"]["parameters"]["query"]>;
const nextQuery: FeedQuery = { after: page.next_cursor ?? "0", limit: 1000 };

// Closed sets are enums: a typo in a claim transition does not compile.
const decide: Schemas["ClaimTransitionIn"] = { to: "partially_approved", decided_amount: "2500.00" };
// @ts-expect-error "partialy_approved" is not a claim transition target
const typo: Schemas["ClaimTransitionIn"] = { to: "partialy_approved" };

// Problem codes are an enum too.
declare const problem: Schemas["Problem"];
const retryLater: boolean = problem.code === "database_unavailable" || problem.code === "service_busy";

export { batch, batchHeaders, decide, nextQuery, retryLater, typo, wrongItem };
