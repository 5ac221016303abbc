/** Mixed precision: dynamic loss scaling and the overflow check. */
package io.tessera.optim.amp;
