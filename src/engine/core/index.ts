export { EngineCore, REQUEST_COMPLETED, REQUEST_FAILED } from './engineCore.ts';
export type { CoreEvents, CoreRequest, EngineCoreOptions, Outcome, RankStats, RequestDetail } from './engineCore.ts';
export { CoreState } from './state.ts';
export { scheduleRank, preemptLast, newRankPlan, type RankPlan } from './scheduler.ts';
export { RouterViewState } from './routerView.ts';
