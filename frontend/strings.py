"""Translated strings for the page scripts, rendered into each page as a JSON catalog.

Keeping them here (not in a djangojs domain) means one .po file per language holds the whole UI,
and each page only ships the strings its script uses. `{name}` placeholders are filled in JS.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

_COMMON = {
    "error": _("Something went wrong: {message}"),
    "code_conversation_closed": _("This conversation is closed; it takes no more votes."),
    "code_rate_limited": _("Too many requests at once; please wait a moment and try again."),
    "code_unavailable": _(
        "This could not be done just now and nothing was stored; please try again."
    ),
    "offline": _("Live updates paused; reconnecting…"),
    "online": _("Live updates on"),
    "group": _("Group {name}"),
    "agree": _("Agree"),
    "disagree": _("Disagree"),
    "pass": _("Pass"),
    "no_snapshot": _("The opinion map appears once enough people have voted."),
    "map_label": _(
        "Opinion map: {participants} participants; {grouped} in {groups} groups, "
        "{ungrouped} not yet in a group"
    ),
    "you_are_here": _("You are here"),
    "unclustered": _("Not yet placed in a group"),
    "members": _("{n} people"),
    # xgettext:no-python-format
    "bar_label": _("{group}: {agree}% agree, {disagree}% disagree, {pass}% pass ({n} votes)"),
    "pca": _("PCA"),
    "umap": _("UMAP"),
}

_MAP = {
    "col_group": _("Group"),
    "col_size": _("People"),
    "col_stands_for": _("Most representative statement"),
    "you_marker": _("(your group)"),
    "repful_agree": _("agrees"),
    "repful_disagree": _("disagrees"),
    # xgettext:no-python-format
    "stance": _("{pct}% of the group {stance}"),
}


def participant() -> dict[str, object]:
    return {
        **_COMMON,
        **_MAP,
        "progress": _("{voted} of {total}"),
        "progress_label": _("You have voted on {voted} of {total} statements"),
        "done": _(
            "You have voted on every statement. New ones will appear here as people add them."
        ),
        "closed": _("This conversation is closed; it takes no more votes."),
        "loading": _("Loading…"),
        "voted_agree": _("Recorded: agree"),
        "voted_disagree": _("Recorded: disagree"),
        "voted_pass": _("Recorded: pass"),
        "submitted_pending": _("Thank you. Your statement awaits moderation before others see it."),
        "submitted_accepted": _("Thank you. Your statement is now open for votes."),
        "empty_statement": _("Write a statement first."),
        "your_group": _("You are in group {name}."),
        "no_group": _("Vote on a few more statements to be placed in a group."),
        "group_stands_for": _("What your group stands for"),
        "all_agree_on": _("What all groups agree on"),
        "nothing_yet": _("Nothing yet."),
        "consent_needed": _("Please tick the consent box first."),
        "demographics_saved": _("Thank you; your answers are saved."),
        "demographics_revoked": _("Your answers were deleted ({n})."),
        "new_statement": _("A new statement is available."),
        "empty_conversation": _(
            "This conversation has no statements yet. New ones will appear here as they are added."
        ),
        "chars": _("{n} / {max} characters"),
        "too_long": _(
            "That is {n} characters; a statement may have at most {max}. Please shorten it."
        ),
        "no_votes_yet": _("You have not voted yet."),
        "your_vote": _("Your vote: {vote}"),
        "withdraw": _("Withdraw"),
        "withdrawn": _("Your vote was withdrawn; the statement will come up again."),
        "changed": _("Your vote was changed."),
        "erased": _(
            "Your data was deleted: {votes} votes, {demographics} answers, {statements} "
            "statements. Reload the page to take part again as someone new."
        ),
    }


def moderator() -> dict[str, object]:
    return {
        **_COMMON,
        "accept": _("Accept"),
        "reject": _("Reject"),
        "reason": _("Reason for rejecting"),
        "reason_needed": _("Give a reason for rejecting."),
        "accepted": _("Accepted."),
        "rejected": _("Rejected."),
        "queue_empty": _("No statements are waiting for moderation."),
        "seeded": _("Added: {text}"),
        "seed_failed_line": _("Line {line} not added ({message}): {text}"),
        "requeue": _("Back to the queue"),
        "requeued": _("Returned to the queue."),
        "change_reason": _("Reason for the change"),
        "reason_change_needed": _("Give a reason for changing this decision."),
        "select": _("Select"),
        "select_first": _("Select one or more statements first."),
        "bulk_accepted": _("{n} accepted."),
        "bulk_rejected": _("{n} rejected."),
        "file_loaded": _("{n} statements read from {name}; check them, then add them."),
        "seed_summary": _("{added} added, {failed} not added."),
        "saved": _("Settings saved."),
        "close": _("Close the conversation"),
        "reopen": _("Reopen the conversation"),
        "state_open": _("Open: taking votes and statements"),
        "state_closed": _("Closed: no more votes"),
        "bad_json": _("The demographic questions are not valid JSON."),
        "question_n": _("Question {n}"),
        "question_key": _("Key (short, stored with each answer)"),
        "question_label": _("Question"),
        "question_choices": _("Choices, one per line"),
        "translation_in": _("In {language}"),
        "question_label_in": _("Question in {language}"),
        "question_choices_in": _("Choices in {language}, one per line, in the same order"),
        "question_remove": _("Remove question {n}"),
        "question_key_needed": _("Every question needs a key."),
        "votes_counts": _("{agree} agree · {disagree} disagree · {pass} pass"),
        "pending": _("waiting"),
        "accepted_state": _("accepted"),
        "rejected_state": _("rejected"),
    }


def report() -> dict[str, object]:
    return {
        **_COMMON,
        **_MAP,
        "snapshot_meta": _(
            "{participants} participants, {votes} votes, {groups} groups; computed {when}"
        ),
        "gic": _("Group-informed consensus (GIC)"),
        "mea": _("Mutual agreement (MEA)"),
        "bridging": _("Bridging"),
        "score": _("score {value}"),
        "needs_votes": _("needs more votes"),
        "representative": _("Representative statements"),
        "no_demographics": _("No demographic answers (or too few to show)."),
        "statement": _("Statement {id}"),
        "job_queued": _("Queued: the worker will recompute in a moment."),
        "job_running": _("Recomputing…"),
        "job_succeeded": _("Recomputed."),
        "job_failed": _("The recompute failed."),
    }


_ALIGNMENT = {
    "loading": _("Loading…"),
    "version_label": _("Version {version}"),
    "group_version_label": _("Group {name}, version {version}"),
    "collective": _("Collective"),
    "rule_name": _("Rule: {rule}"),
    "threshold_value": _("threshold {value}"),
    "n_principles": _("{n} principles"),
    "created": _("created {when}"),
    # Selection rules and how a principle was written, as the API names them.
    "rule_mea": _("MEA"),
    "rule_gic": _("GIC"),
    "rule_bridging": _("bridging"),
    "rule_manual": _("hand-picked"),
    "rewrite_template": _("template"),
    "rewrite_model": _("a language model"),
}


def constitution() -> dict[str, object]:
    return {
        **_COMMON,
        **_ALIGNMENT,
        "no_constitution": _("No constitution has been built for this conversation yet."),
        "constitution_meta": _("{rule} · {principles} · {created} · hash {hash}"),
        "principle_n": _("Principle {n}"),
        "critique": _("Critique request"),
        "revision": _("Revision request"),
        "rewrite": _("Rewritten by: {how}"),
        "sources": _("Source statements and their votes"),
        "statement_ref": _("Statement {id}"),
        "col_group": _("Group"),
        "col_agree": _("Agree"),
        "col_disagree": _("Disagree"),
        "col_pass": _("Pass"),
        "col_votes": _("Votes"),
        "votes_caption": _("Votes on statement {id} by opinion group"),
        "no_group_votes": _("No per-group votes recorded."),
        "score_gic": _("GIC {value}"),
        "score_gic_normalized": _("GIC per group {value}"),
        "score_mea": _("MEA {value}"),
        "score_bridging": _("bridging {value}"),
        "score_needs_votes": _("MEA needs more votes"),
        "show": _("Show"),
        "showing": _("Shown"),
        "diff_same": _("Pick two different versions."),
        "diff_empty": _("No principle changed between these versions."),
        "diff_added": _("Added"),
        "diff_removed": _("Removed"),
        "diff_changed": _("Changed"),
        "diff_before": _("Before"),
        "diff_after": _("After"),
        "diff_title": _("From {old} to {new}"),
        "no_groups": _("No per-group constitutions yet."),
        "built": _("Built {n} constitution version(s)."),
        "imported": _("Imported as version {version}."),
        "bad_json": _("That is not valid JSON: {message}"),
        "empty_import": _("Paste a constitution JSON document first."),
        "bad_threshold": _("The threshold must be a number."),
        "threshold_range": _("The threshold must be above 0 and at most 1."),
        "already_version": _("Nothing new: this content is already {label}."),
        "published": _("Published"),
        "draft": _("Draft"),
        "publish": _("Publish"),
        "published_now": _("{label} is published: everyone now sees it."),
        "working": _("Working…"),
    }


def training() -> dict[str, object]:
    return {
        **_COMMON,
        **_ALIGNMENT,
        "new_constitution": _("Build one from the latest votes (default rule)"),
        "no_runs": _("No training runs yet."),
        "run_title": _("Training run {id}"),
        "status_queued": _("queued"),
        "status_running": _("running"),
        "status_succeeded": _("succeeded"),
        "status_failed": _("failed"),
        "status_interrupted": _("interrupted (resumable)"),
        "stage_none": _("not started"),
        "stage_constitution": _("constitution"),
        "stage_load_model": _("loading the model"),
        "stage_calibrate_judge": _("calibrating the judge"),
        "stage_prompts": _("prompts"),
        "stage_generate": _("generating CAI data"),
        "stage_generate_heldout": _("generating held-out data"),
        "stage_datasets": _("datasets"),
        "stage_sft": _("supervised fine-tuning"),
        "stage_preference": _("preference training"),
        # Keys of a run's metrics beside its stages (the pairs' summary, the method's training).
        "stage_preference_pairs": _("preference pairs"),
        "stage_dpo": "DPO",  # acronyms, the same in every language
        "stage_kto": "KTO",
        "stage_evaluate": _("evaluation"),
        "stage_card": _("model card"),
        # A stage of the extra training seeds ("sft@seed1"): the stage's name and its seed.
        "stage_with_seed": _("{stage} (seed {seed})"),
        "progress_label": _("{stage}: {pct}%"),
        "started": _("Run {id} queued; a worker will pick it up."),
        "bad_number": _("{field} must be a whole number of at least 1."),
        "loss_plot": _("Training loss by step, one line per stage"),
        "no_loss": _("No loss values recorded yet."),
        "col_stage": _("Stage"),
        "col_step": _("Step"),
        "col_loss": _("Loss"),
        "col_id": _("Run"),
        "col_model": _("Model"),
        "col_method": _("Method"),
        "col_status": _("Status"),
        "col_progress": _("Progress"),
        "col_created": _("Created"),
        "axis_step": _("step"),
        "axis_loss": _("loss"),
        "show": _("Show"),
        "win_rate": _("Win rate against the base model"),
        "win_counts": _("{wins} wins, {losses} losses, {ties} ties over {n} prompts"),
        "reward_accuracy": _("Implicit reward accuracy"),
        "reward_margin": _("Mean reward margin"),
        "logprob_accuracy": _("Log-prob accuracy (tuned / base)"),
        "perplexity": _("Perplexity (base → tuned)"),
        "facts": _("Fact accuracy (base → tuned)"),
        "representativeness": _("Representativeness of group {group} (base → tuned)"),
        "representativeness_collective": _("Representativeness of all voters (base → tuned)"),
        "least_represented": _("Least represented: group {group}"),
        "capability_mc": _("Capability check (base → tuned)"),
        "bias_stereotyped": _("Stereotyped answers (base → tuned)"),
        "judge_accuracy": _("Judge calibration accuracy"),
        "warning": _("Warning"),
        "no_evaluation": _("No evaluation yet."),
        "no_metrics": _("No metrics yet."),
        "constitution_used": _("Constitution: {label}"),
        "none": _("none"),
        "error_title": _("The run failed"),
        "polling": _("Updating every 2 seconds."),
        # Over training seeds (evaluation.across_seeds): the tuned model's mean and t interval.
        "seeds_title": _("Over {n} training seeds ({seeds})"),
        "seeds_note": _(
            # xgettext:no-python-format
            "Tuned model: the mean over the seeds with its 95% interval (Student t); the base "
            "model does not depend on the seed."
        ),
        "col_figure": _("Figure"),
        "col_tuned": _("Tuned"),
        "col_base": _("Base"),
        "per_seed": _("Per seed: {values}"),
        "seed_win_rate": _("Win rate against the base model"),
        "seed_implicit_reward_accuracy": _("Implicit reward accuracy"),
        "seed_tuned_logprob_accuracy": _("Log-prob accuracy"),
        "seed_representativeness_collective": _("Representativeness of all voters"),
        "seed_representativeness_least_group": _("Least represented group"),
        "seed_representativeness_group": _("Representativeness of group {group}"),
        "seed_capability_mc": _("Capability check"),
        "seed_bias_accuracy": _("Bias check accuracy"),
        "seed_bias_stereotyped": _("Stereotyped answers"),
        "seed_perplexity": _("Perplexity"),
        "seed_facts": _("Fact accuracy"),
    }
