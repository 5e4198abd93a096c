/** Optimizer and learning-rate schedules. */
export { SGD, type SGDOptions, type SGDState } from './sgd';
export { stepLR, multiStepLR, cosineLR, makeSchedule, type LrSchedule, type ScheduleSpec } from './schedules';
