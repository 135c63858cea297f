"""The web service: ECS Fargate tasks from the repository's Dockerfile behind an HTTPS ALB."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Annotations, CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.database import DATABASE_PORT
from stacks.settings import OIDC_CONTEXT, Settings, oidc_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTAINER_PORT = 8000
# A run's stream may last 15 minutes with quiet stretches between prompts: the ALB must not cut an
# idle connection first. gunicorn's keep-alive must be longer still (KEEPALIVE below).
ALB_IDLE_TIMEOUT = Duration.seconds(1000)
# Draining: streams already open keep going this long while new requests go to other tasks; after
# it the task gets SIGTERM, releases its leases and the browsers reconnect elsewhere (DESIGN §8).
DEREGISTRATION_DELAY = Duration.seconds(120)
# Fargate's ceiling; gunicorn's graceful timeout (GRACEFUL_TIMEOUT below) fits inside it.
STOP_TIMEOUT = Duration.seconds(120)
APP_COMPONENT = "assistant-architect"
HEALTHCHECK_COMMAND = (
    "import os, urllib.request; urllib.request.urlopen("
    "'http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"
)


class FrontendStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        vpc: ec2.IVpc,
        database: rds.DatabaseCluster,
        database_secret: secretsmanager.ISecret,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = settings.prefix

        certificate_arn = CfnParameter(
            self,
            "CertificateArn",
            type="String",
            description="ARN of the ACM certificate for the load balancer's HTTPS listener.",
            allowed_pattern=r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+",
            # `-c certificateArn=…` sets it at synth time; otherwise pass --parameters.
            **_default(self.node.try_get_context("certificateArn")),
        )

        # ---- secrets: never plain environment values -------------------------------------------
        app_secret = secretsmanager.Secret(
            self,
            "SecretKey",
            secret_name=f"aistudio/{settings.env_name.lower()}/SECRET_KEY",
            description="Flask SECRET_KEY: signs sessions, CSRF tokens and the setup token.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        # One secret per provider key: adding a provider never touches the others' values. Created
        # with a random placeholder; ops put the real key (docs/DEPLOYMENT.md, first run).
        provider_secrets = {
            key: secretsmanager.Secret(
                self,
                f"Provider{key.title().replace('_', '')}",
                secret_name=f"aistudio/{settings.env_name.lower()}/{key}",
                description=f"{key} for the models whose api_key_env names it; set after deploy.",
            )
            for key in settings.provider_keys
        }
        # Single sign-on when `-c oidcIssuer=… -c oidcClientId=…` (and the rest) are given; the
        # client secret is a secret like the provider keys, its value set by ops after deploy.
        sso_environment = oidc_environment(
            {key: self.node.try_get_context(key) for key in OIDC_CONTEXT}
        )
        sso_secrets = {}
        if sso_environment:
            sso_secrets["OIDC_CLIENT_SECRET"] = ecs.Secret.from_secrets_manager(
                secretsmanager.Secret(
                    self,
                    "OidcClientSecret",
                    secret_name=f"aistudio/{settings.env_name.lower()}/OIDC_CLIENT_SECRET",
                    description="The identity provider's app client secret; set after deploy.",
                )
            )
        container_secrets = {
            "SECRET_KEY": ecs.Secret.from_secrets_manager(app_secret),
            # The entrypoint builds DATABASE_URL from these fields of the cluster's secret.
            "DB_HOST": ecs.Secret.from_secrets_manager(database_secret, "host"),
            "DB_PORT": ecs.Secret.from_secrets_manager(database_secret, "port"),
            "DB_NAME": ecs.Secret.from_secrets_manager(database_secret, "dbname"),
            "DB_USER": ecs.Secret.from_secrets_manager(database_secret, "username"),
            "DB_PASSWORD": ecs.Secret.from_secrets_manager(database_secret, "password"),
            **{k: ecs.Secret.from_secrets_manager(s) for k, s in provider_secrets.items()},
            **sso_secrets,
        }

        # ---- the service -----------------------------------------------------------------------
        cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=f"{prefix}-cluster",
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/ecs/{prefix}-frontend",
            retention=settings.log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            family=f"{prefix}-frontend",
            cpu=settings.task_cpu,
            memory_limit_mib=settings.task_memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        web_concurrency = 2  # gevent workers per task: one per vCPU
        task.add_container(
            "web",
            container_name="web",
            # Built from the repository's Dockerfile at deploy time; synth only stages the
            # context (.dockerignore applies), so it needs no Docker.
            image=ecs.ContainerImage.from_asset(str(REPO_ROOT)),
            port_mappings=[ecs.PortMapping(container_port=CONTAINER_PORT)],
            environment={
                "APP_ENV": "production",
                "PORT": str(CONTAINER_PORT),
                "WEB_CONCURRENCY": str(web_concurrency),
                "DB_POOL_SIZE": "20",
                "DB_WAIT_SECONDS": "60",
                "KEEPALIVE": str(ALB_IDLE_TIMEOUT.to_seconds() + 5),
                "GRACEFUL_TIMEOUT": "90",
                # Only the load balancer reaches the tasks (security groups), so its
                # X-Forwarded-* headers are trusted.
                "FORWARDED_ALLOW_IPS": "*",
                "PROXY_COUNT": "1",  # the app's ProxyFix: client IPs for the audit trail
                "DEMO_MODEL": settings.demo_model,
                "LOG_LEVEL": "INFO",
                **sso_environment,
            },
            secrets=container_secrets,
            logging=ecs.LogDrivers.aws_logs(stream_prefix="web", log_group=self.log_group),
            health_check=ecs.HealthCheck(
                command=["CMD", "python", "-c", HEALTHCHECK_COMMAND],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(120),
            ),
            stop_timeout=STOP_TIMEOUT,
        )
        self.service_security_group = ec2.SecurityGroup(
            self, "ServiceSecurityGroup", vpc=vpc, description=f"{prefix}-frontend tasks"
        )
        Annotations.of(self.service_security_group).acknowledge_warning(
            "@aws-cdk/aws-ec2:ipv4IgnoreEgressRule",
            "Tasks call the AI providers, so all outbound traffic is allowed anyway.",
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            service_name=f"{prefix}-frontend",
            cluster=cluster,
            task_definition=task,
            desired_count=settings.min_tasks,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[self.service_security_group],
            min_healthy_percent=100,
            max_healthy_percent=200,
            # A deploy whose tasks never turn healthy rolls back to the previous task definition.
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            # Time for `flask db upgrade` (which may wait for the database) before health counts.
            health_check_grace_period=Duration.seconds(180),
            # ECS Exec: `flask users create` asks for the password on a terminal.
            enable_execute_command=True,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
        )
        # From the service's side, so the rule lives in this stack and the stacks stay acyclic.
        self.service.connections.allow_to(
            database, ec2.Port.tcp(DATABASE_PORT), "tasks to Postgres"
        )

        # ---- load balancer ---------------------------------------------------------------------
        alb = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            load_balancer_name=f"{prefix}-alb",
            vpc=vpc,
            internet_facing=True,
            idle_timeout=ALB_IDLE_TIMEOUT,
            drop_invalid_header_fields=True,
        )
        https = alb.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn.value_as_string)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            open=True,
        )
        alb.add_redirect(source_port=80, target_port=443)  # HTTP → HTTPS, 301
        target_group = https.add_targets(
            "Web",
            port=CONTAINER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.service],
            # /healthz never touches the database: a slow database must not cycle every task.
            health_check=elbv2.HealthCheck(
                path="/healthz",
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
            deregistration_delay=DEREGISTRATION_DELAY,
        )

        # ---- autoscaling: CPU and requests per task ---------------------------------------------
        scaling = self.service.auto_scale_task_count(
            min_capacity=settings.min_tasks, max_capacity=settings.max_tasks
        )
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=60,
            scale_in_cooldown=Duration.minutes(5),
            scale_out_cooldown=Duration.minutes(1),
        )
        scaling.scale_on_request_count(
            "Requests",
            requests_per_target=600,  # per minute per task
            target_group=target_group,
            scale_in_cooldown=Duration.minutes(5),
            scale_out_cooldown=Duration.minutes(1),
        )

        # ---- alarms ------------------------------------------------------------------------------
        topic = sns.Topic(self, "Alarms", topic_name=f"{prefix}-alarms")
        alarm_email = self.node.try_get_context("alarmEmail")
        if alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        notify = cloudwatch_actions.SnsAction(topic)
        five_minutes = Duration.minutes(5)

        error_rate = cloudwatch.MathExpression(
            label="5xx responses (% of requests)",
            expression="IF(requests > 0, 100 * (FILL(elb, 0) + FILL(target, 0)) / requests, 0)",
            using_metrics={
                "requests": alb.metrics.request_count(period=five_minutes, statistic="Sum"),
                "elb": alb.metrics.http_code_elb(
                    elbv2.HttpCodeElb.ELB_5XX_COUNT, period=five_minutes, statistic="Sum"
                ),
                "target": target_group.metrics.http_code_target(
                    elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=five_minutes, statistic="Sum"
                ),
            },
            period=five_minutes,
        )
        alarms = [
            error_rate.create_alarm(
                self,
                "Http5xxRate",
                alarm_name=f"{prefix}-frontend-5xx-rate",
                alarm_description="More than 5% of requests answered 5xx (ALB or tasks).",
                threshold=5,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            # Time to the response's first byte: pages and the start of a stream, not its length.
            target_group.metrics.target_response_time(
                period=five_minutes, statistic="p99"
            ).create_alarm(
                self,
                "LatencyP99",
                alarm_name=f"{prefix}-frontend-p99-latency",
                alarm_description="p99 target response time above 3 s.",
                threshold=3,
                evaluation_periods=3,
                datapoints_to_alarm=3,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        ]
        # The app logs one JSON line per failed run: {"component": "assistant-architect",
        # "event": "execution.failed", …}.
        failed_runs = logs.MetricFilter(
            self,
            "FailedExecutions",
            log_group=self.log_group,
            filter_name=f"{prefix}-execution-failed",
            filter_pattern=logs.FilterPattern.all(
                logs.FilterPattern.string_value("$.component", "=", APP_COMPONENT),
                logs.FilterPattern.string_value("$.event", "=", "execution.failed"),
            ),
            metric_namespace=f"AIStudio/{settings.env_name}",
            metric_name="ExecutionsFailed",
            metric_value="1",
            default_value=0,
        )
        alarms.append(
            failed_runs.metric(period=five_minutes, statistic="Sum").create_alarm(
                self,
                "ExecutionsFailedAlarm",
                alarm_name=f"{prefix}-executions-failed",
                alarm_description="5 or more assistant runs failed within 5 minutes.",
                threshold=5,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        for alarm in alarms:
            alarm.add_alarm_action(notify)
            alarm.add_ok_action(notify)

        # ---- what ops need for one-off tasks and checks -----------------------------------------
        CfnOutput(self, "LoadBalancerDns", value=alb.load_balancer_dns_name)
        CfnOutput(self, "ClusterName", value=cluster.cluster_name)
        CfnOutput(self, "ServiceName", value=self.service.service_name)
        CfnOutput(self, "TaskDefinitionFamily", value=f"{prefix}-frontend")
        CfnOutput(self, "LogGroupName", value=self.log_group.log_group_name)
        CfnOutput(
            self,
            "TaskSubnets",
            value=",".join(s.subnet_id for s in vpc.private_subnets),
        )
        CfnOutput(
            self, "ServiceSecurityGroupId", value=self.service_security_group.security_group_id
        )
        CfnOutput(self, "AlarmTopicArn", value=topic.topic_arn)


def _default(value: str | None) -> dict:
    return {"default": value} if value else {}
