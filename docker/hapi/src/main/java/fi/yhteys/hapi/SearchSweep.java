package fi.yhteys.hapi;

import ca.uhn.fhir.jpa.model.sched.HapiJob;
import ca.uhn.fhir.jpa.model.sched.IHasScheduledJobs;
import ca.uhn.fhir.jpa.model.sched.ISchedulerService;
import ca.uhn.fhir.jpa.model.sched.ScheduledJobDefinition;
import ca.uhn.fhir.jpa.search.IStaleSearchDeletingSvc;
import ca.uhn.fhir.jpa.search.cache.DatabaseSearchCacheSvcImpl;
import ca.uhn.fhir.jpa.search.cache.ISearchCacheSvc;
import org.quartz.JobExecutionContext;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * The sweep that deletes stored searches (HFJ_SEARCH and their result rows) once they have gone
 * unused for {@code yhteys.search-expiry-seconds}; it runs every {@code yhteys.search-sweep-seconds}
 * on HAPI's own (Quartz) scheduler, so a stored search is gone at most expiry + sweep seconds after
 * it was last used.
 *
 * <p>It replaces HAPI's own sweep job, which {@link FhirStoreConfig} turns off
 * ({@code enableTaskStaleSearchCleanup}): that one runs only once a minute and keeps every search a
 * further minute past its expiry ("cutoff slack"), a guard for reusing cached search results, which
 * this server never does. The slack is therefore set to zero here; HAPI offers only its
 * {@code setCutoffSlackForUnitTest} setter for it. The start fails if HAPI's search cache is not the
 * database one that setter belongs to, rather than keeping searches longer than documented.
 */
@Component
public class SearchSweep implements IHasScheduledJobs {

	private final long intervalMillis;

	public SearchSweep(YhteysProperties properties, ISearchCacheSvc searchCache) {
		if (!(searchCache instanceof DatabaseSearchCacheSvcImpl databaseCache)) {
			throw new IllegalStateException(
					"HAPI's search cache is " + searchCache.getClass().getName() + ", not the database one the sweep expects");
		}
		databaseCache.setCutoffSlackForUnitTest(0);
		intervalMillis = properties.searchSweepSeconds() * 1000L;
	}

	@Override
	public void scheduleJobs(ISchedulerService scheduler) {
		ScheduledJobDefinition job = new ScheduledJobDefinition();
		job.setId(SearchSweep.class.getName());
		job.setJobClass(Job.class);
		scheduler.scheduleClusteredJob(intervalMillis, job);
	}

	/** One pass of the sweep; HAPI's scheduler creates it and fills in its fields. */
	public static class Job implements HapiJob {

		@Autowired
		private IStaleSearchDeletingSvc staleSearches;

		@Override
		public void execute(JobExecutionContext context) {
			staleSearches.pollForStaleSearchesAndDeleteThem();
		}
	}
}
