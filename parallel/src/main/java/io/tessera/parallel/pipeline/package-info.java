/**
 * Pipeline parallelism's schedules: which forward and backward pass each stage runs when
 * ({@link io.tessera.parallel.pipeline.PipelineSchedule}: GPipe, 1F1B, interleaved 1F1B), and a
 * clock simulation that checks a schedule and measures its bubble and activation memory
 * ({@link io.tessera.parallel.pipeline.ScheduleSimulation}).
 */
package io.tessera.parallel.pipeline;
