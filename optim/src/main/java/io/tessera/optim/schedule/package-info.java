/** Learning-rate schedules: warm-up, then constant, linear or polynomial decay. */
package io.tessera.optim.schedule;
